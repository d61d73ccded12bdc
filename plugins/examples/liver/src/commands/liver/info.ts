import { Command } from '@oclif/core';
import { liverTask } from '../../index.js';

/** `mednext liver info`: a plugin may add commands too; this one prints its task's labels and regions. */
export default class LiverInfo extends Command {
  static override description = 'Show the labels and regions of the liver task (example plugin command)';

  async run(): Promise<void> {
    await this.parse(LiverInfo);
    for (const l of liverTask.labels) this.log(`label ${l.value} ${l.name}: ${l.description}`);
    for (const r of liverTask.regions) this.log(`region ${r.name} = labels ${r.labels.join('+')}`);
  }
}

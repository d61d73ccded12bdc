import { Command, Flags } from '@oclif/core';
import { resolveNormalization, taskNaming } from '@mednext-ts/mednext/tasks';
import { discoverTasksFromConfig } from '../lib/tasks.js';

export default class Tasks extends Command {
  static override summary = 'List the tasks registered by the installed plugins.';

  static override description = 'List the segmentation tasks registered by the installed task plugins.';

  static override examples = ['<%= config.bin %> tasks', '<%= config.bin %> tasks --json'];

  static override flags = {
    json: Flags.boolean({ description: 'print the full task definitions as JSON' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Tasks);
    const { registry, problems } = await discoverTasksFromConfig(this.config);
    for (const p of problems) this.warn(`plugin ${p.plugin}: ${p.problem}`);
    const tasks = registry.list();
    if (flags.json) {
      this.log(
        JSON.stringify(
          tasks.map(({ task, source }) => ({ ...task, source })),
          null,
          2,
        ),
      );
      return;
    }
    if (tasks.length === 0) {
      this.log('No tasks registered. Install a task plugin: mednext plugins install <package>');
      return;
    }
    for (const { task, source } of tasks) {
      this.log(`${task.id}  ${task.description}`);
      this.log(`  from     ${source}`);
      this.log(`  labels   ${task.labels.map((l) => `${l.value} ${l.name}`).join(', ')}`);
      this.log(
        `  regions  ${task.regions.map((r) => `${r.name}={${r.labels.join(',')}} thr ${r.threshold} min ${r.minSize}`).join('; ')}`,
      );
      const naming = taskNaming(task);
      this.log(`  inputs   ${naming.image} (labels ${naming.label})`);
      const methods = resolveNormalization(task).map((p, i) => {
        const { method, ...params } = p;
        return `${task.modalities[i]} ${method}${Object.keys(params).length ? ` ${JSON.stringify(params)}` : ''}`;
      });
      this.log(`  norm     ${methods.join(', ')}`);
      const evaluation = task.evaluation ?? {};
      this.log(
        `  evaluate ${'preset' in evaluation ? evaluation.preset : `${evaluation.score ?? 'lesion-wise'} over the regions, dilation ${evaluation.dilation ?? 0}`}`,
      );
      const t = task.training;
      this.log(
        `  recipe   MedNeXt-${t.preset} k${t.kernelSize}, patch ${t.patchSize.join('x')}, batch ${t.batchSize}, ${t.epochs} epochs x ${t.iterationsPerEpoch}, lr ${t.learningRate}, ${t.loss}, ${t.folds} folds`,
      );
      if (task.pipeline)
        this.log(
          `  pipeline ${task.pipeline} (inference window ${task.windowSize?.join('x') ?? 'from the checkpoint'})`,
        );
      for (const [name, preset] of Object.entries(task.postprocessPresets ?? {})) {
        this.log(`  preset   --postprocess ${name}: ${preset.description}`);
      }
      const mappings = Object.keys(task.labelMappings ?? {});
      if (mappings.length) this.log(`  mappings --label-mapping ${mappings.join(' | ')}`);
    }
  }
}

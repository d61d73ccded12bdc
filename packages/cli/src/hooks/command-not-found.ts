/**
 * oclif `command_not_found` hook: a mistyped command fails with the closest commands as suggestions, like git's
 * "The most similar command is", instead of oclif's bare "command not found".
 */
import { Errors, type Hook } from '@oclif/core';
import { closestCommands } from '../lib/suggest.js';

const hook: Hook<'command_not_found'> = async function (options) {
  const separator = options.config.topicSeparator;
  const visible = options.config.commands.filter((c) => !c.hidden).map((c) => c.id);
  // oclif joins every word into the id ('predcit x' -> 'predcit:x'): the command is the words up to and including
  // the first one that is not a topic ('model:sumary' keeps both words).
  const topics = new Set(options.config.topics.map((t) => t.name));
  const words = options.id.split(':');
  let end = 1;
  while (end < words.length && topics.has(words.slice(0, end).join(':'))) end++;
  const typed = words.slice(0, end).join(':');
  const suggestions = closestCommands(typed, visible).map((id) => id.replaceAll(':', separator));
  const shown = typed.replaceAll(':', separator);
  const bin = options.config.bin;
  const hint =
    suggestions.length > 0
      ? `Did you mean ${suggestions.map((s) => `'${bin} ${s}'`).join(' or ')}?`
      : `Run '${bin} --help' for the list of commands.`;
  throw new Errors.CLIError(`'${shown}' is not a ${bin} command. ${hint}`, { exit: 2 });
};

export default hook;

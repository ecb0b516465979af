/**
 * Every `troupe` command, in the order `troupe --help` lists them. Adding a
 * command: one file in this folder exporting a `Command`, and one line here.
 */
import type { Command } from '../command.js';
import { approve } from './approve.js';
import { demo } from './demo.js';
import { evaluate } from './eval.js';
import { list } from './list.js';
import { reject } from './reject.js';
import { run } from './run.js';
import { show } from './show.js';
import { signal } from './signal.js';

export const COMMANDS: readonly Command[] = [
  demo,
  run,
  list,
  show,
  evaluate,
  signal,
  approve,
  reject,
];

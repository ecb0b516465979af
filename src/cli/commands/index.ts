/**
 * Every `troupe` command, in the order `troupe --help` lists them. Adding a
 * command: one file in this folder exporting a `Command`, and one line here.
 */
import type { Command } from '../command.js';
import { approve } from './approve.js';
import { cancel } from './cancel.js';
import { demo } from './demo.js';
import { evaluate } from './eval.js';
import { list } from './list.js';
import { pause } from './pause.js';
import { reject } from './reject.js';
import { resume } from './resume.js';
import { run } from './run.js';
import { show } from './show.js';
import { signal } from './signal.js';
import { worker } from './worker.js';
import { workers } from './workers.js';

export const COMMANDS: readonly Command[] = [
  demo,
  run,
  list,
  show,
  resume,
  pause,
  cancel,
  evaluate,
  signal,
  approve,
  reject,
  worker,
  workers,
];

/**
 * Options shared by several commands, declared once so that every command spells and checks them alike.
 */
import { Option } from 'commander';

import { DEVICES } from '../options';

export function deviceOption(): Option {
  return new Option('--device <device>', "where to run; 'auto' takes CUDA when present").choices(DEVICES).default('auto');
}

/**
 * Options shared by several commands, declared once so that every command spells and checks them alike.
 */
import { Option } from 'commander';

import { DEVICES } from '../constants';

export function deviceOption(): Option {
  return new Option('--device <device>', "where to run; 'auto' takes CUDA when present").choices(DEVICES).default('auto');
}

export function trainPrecisionOption(): Option {
  return new Option(
    '--precision <p>',
    "precision of the adaptor and heads in training; 'auto': bf16 where the hardware computes it natively",
  )
    .choices(['auto', 'fp32', 'bf16', 'fp16'])
    .default('auto');
}

/**
 * Options shared by several commands, declared once so that every command spells and checks them alike.
 */
import { Option } from 'commander';

import type { BackboneArch, Device } from '../types';

export const DEVICES: readonly Device[] = ['auto', 'cpu', 'cuda'];

export const ARCHS: readonly BackboneArch[] = [
  'resnet18',
  'resnet34',
  'resnet50',
  'wide_resnet50_2',
  'wide_resnet101_2',
  'resnet50-keras',
];

export function deviceOption(): Option {
  return new Option('--device <device>', "where to run; 'auto' takes CUDA when present").choices(DEVICES).default('auto');
}

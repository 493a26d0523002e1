// Terminal colour: used only when standard output is a terminal and NO_COLOR is not set
// (https://no-color.org). Everything else gets plain text, so pipes and files never see escape codes.

import type { CliIo } from '../io.js';

export interface Palette {
  bold(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
  dim(text: string): string;
}

export const plainPalette: Palette = {
  bold: (t) => t,
  green: (t) => t,
  yellow: (t) => t,
  red: (t) => t,
  dim: (t) => t,
};

function sgr(code: string): (text: string) => string {
  return (text) => `\u001b[${code}m${text}\u001b[0m`;
}

const ansi: Palette = {
  bold: sgr('1'),
  green: sgr('32'),
  yellow: sgr('33'),
  red: sgr('31'),
  dim: sgr('2'),
};

/** True when colour should be used for this process's standard output. */
export function colourEnabled(io: Pick<CliIo, 'env' | 'stdoutIsTty'>): boolean {
  const noColor = io.env.NO_COLOR;
  if (noColor !== undefined && noColor !== '') return false;
  return io.stdoutIsTty;
}

export function paletteFor(io: Pick<CliIo, 'env' | 'stdoutIsTty'>): Palette {
  return colourEnabled(io) ? ansi : plainPalette;
}

/** Removes ANSI colour sequences (for measuring column widths). */
export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

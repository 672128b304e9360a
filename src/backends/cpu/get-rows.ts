// getRows: embedding lookup, one dequantized table row per id.
import { expectShape, type CpuIndex, type CpuTensor, type CpuWeight } from './resources.ts';

export function getRows(table: CpuWeight, ids: CpuIndex, out: CpuTensor): void {
  expectShape('getRows output', out, ids.length, table.cols);
  const cols = table.cols;
  for (let r = 0; r < ids.length; r++) {
    const id = ids.data[r]!;
    if (id < 0 || id >= table.rows) throw new RangeError(`getRows: id ${id} is outside ${table.name}'s ${table.rows} rows`);
    const dst = out.data.subarray(r * cols, (r + 1) * cols);
    const row = table.row(id, dst);
    if (row !== dst) dst.set(row);
  }
}

// gatherRows: picks rows of a tensor (the rows whose logits are wanted).
import { expectShape, type CpuIndex, type CpuTensor } from './resources.ts';

export function gatherRows(x: CpuTensor, rows: CpuIndex, out: CpuTensor): void {
  expectShape('gatherRows output', out, rows.length, x.cols);
  const cols = x.cols;
  for (let r = 0; r < rows.length; r++) {
    const src = rows.data[r]!;
    if (src < 0 || src >= x.rows) throw new RangeError(`gatherRows: row ${src} is outside the input's ${x.rows} rows`);
    out.data.set(x.data.subarray(src * cols, (src + 1) * cols), r * cols);
  }
}

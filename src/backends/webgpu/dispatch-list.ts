// The dispatches of a pass, kept on the host until the pass is encoded in one go (before its
// submit). Interleaving Dawn's calls with the planning of every op leaves Dawn's code cold in the
// CPU caches at each call: recording a decode step of a 16-layer synth file on lavapipe's host took
// about 0.70 ms with the ~260 setPipeline / setBindGroup / dispatchWorkgroups calls issued in one
// loop against 0.80 ms with each issued as its op was planned.
export class DispatchList {
  private pipelines: GPUComputePipeline[] = [];
  private bindGroups: GPUBindGroup[] = [];
  private grids = new Uint32Array(3 * 512);
  private n = 0;

  get length(): number {
    return this.n;
  }

  push(pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, x: number, y: number, z: number): void {
    const i = this.n++;
    if (3 * this.n > this.grids.length) {
      const g = new Uint32Array(2 * this.grids.length);
      g.set(this.grids);
      this.grids = g;
    }
    this.pipelines[i] = pipeline;
    this.bindGroups[i] = bindGroup;
    this.grids[3 * i] = x;
    this.grids[3 * i + 1] = y;
    this.grids[3 * i + 2] = z;
  }

  /** Encodes every dispatch into `pass`, in order, and empties the list. */
  encode(pass: GPUComputePassEncoder): void {
    const { pipelines, bindGroups, grids } = this;
    let last: GPUComputePipeline | undefined;
    for (let i = 0; i < this.n; i++) {
      // Consecutive dispatches often share a kernel (q, k and v of one layer): not set again.
      const p = pipelines[i]!;
      if (p !== last) {
        pass.setPipeline(p);
        last = p;
      }
      pass.setBindGroup(0, bindGroups[i]!);
      const x = grids[3 * i]!;
      const y = grids[3 * i + 1]!;
      const z = grids[3 * i + 2]!;
      // Dawn's bindings convert every argument given: most grids are one-dimensional.
      if (y === 1 && z === 1) pass.dispatchWorkgroups(x);
      else pass.dispatchWorkgroups(x, y, z);
    }
    this.clear();
  }

  clear(): void {
    // The objects stay referenced until overwritten: they are cached (pipelines.ts) anyway, and
    // truncating would make the next pass grow the arrays again.
    this.n = 0;
  }
}

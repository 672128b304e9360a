// The store of the matmul kernels, whose weight may be several projections concatenated by rows at
// load (q|k|v, gate|up) and run as one dispatch: output column oc of the concatenation goes to its
// own projection's tensor, columns [0, split1) to Y, [split1, split2) to Y2 and [split2, out_cols)
// to Y3, each a row-major tensor as wide as its part. An unsplit weight has split1 = split2 =
// out_cols: everything goes to Y at r * out_cols + oc, as before.
// needs: the op's `P` (out_cols, split1, split2) and its Y, Y2, Y3 bindings

fn split_store(r: u32, oc: u32, v: f32) {
  if (oc < P.split1) {
    Y[r * P.split1 + oc] = v;
  } else if (oc < P.split2) {
    Y2[r * (P.split2 - P.split1) + (oc - P.split1)] = v;
  } else {
    Y3[r * (P.out_cols - P.split2) + (oc - P.split2)] = v;
  }
}

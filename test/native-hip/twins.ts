// Checks that shaders/ and native-hip/kernels/ mirror each other (DESIGN.md "Twins"): every WGSL
// file has a HIP twin at the same relative path and stem (.hip for kernels, .h for the helpers in
// subdirectories such as common/ and dequant/) and the other way round; a kernel's Params struct
// has the same fields in the same order (and the same scalar types) on both sides; each .hip
// exports rf_k_<stem> (the entry the library's kernel table is generated from); and a .hip binds no
// buffer its twin does not declare. Returns every problem found, as lines for a test to print.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface Field {
  readonly name: string;
  readonly type: string;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
}

/** The fields of `struct Params { name: type, ... }` in WGSL, or undefined without one. */
export function wgslParams(src: string): Field[] | undefined {
  const m = /\bstruct\s+Params\s*\{([^}]*)\}/.exec(stripComments(src));
  if (!m) return undefined;
  return m[1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const f = /^(\w+)\s*:\s*([\w<>, ]+)$/.exec(s);
      if (!f) throw new Error(`cannot parse WGSL Params field "${s}"`);
      return { name: f[1]!, type: f[2]!.trim() };
    });
}

/** The fields of `struct Params { type name; ... };` in C++, or undefined without one. */
export function hipParams(src: string): Field[] | undefined {
  const m = /\bstruct\s+Params\s*\{([^}]*)\}/.exec(stripComments(src));
  if (!m) return undefined;
  const out: Field[] = [];
  for (const decl of m[1]!.split(';').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const f = /^([\w:<> ]*?[\w>])\s+(\w+(?:\s*,\s*\w+)*)$/.exec(decl);
    if (!f) throw new Error(`cannot parse HIP Params field "${decl}"`);
    for (const name of f[2]!.split(',')) out.push({ name: name.trim(), type: f[1]!.trim() });
  }
  return out;
}

/** Storage bindings a WGSL kernel declares (binding 0, the params, excluded). */
export function wgslBindingCount(src: string): number {
  const ids = [...stripComments(src).matchAll(/@binding\((\d+)\)\s*var<storage/g)].map((m) => Number(m[1]));
  return ids.length === 0 ? 0 : Math.max(...ids);
}

/** The twin path of a WGSL file relative to shaders/: foo.wgsl -> foo.hip, common/x.wgsl -> common/x.h. */
export function twinOf(rel: string): string {
  const stem = rel.replace(/\.wgsl$/, '');
  return rel.includes('/') ? `${stem}.h` : `${stem}.hip`;
}

/** The WGSL path a HIP file should mirror, or undefined for a file that is neither .hip nor .h. */
export function wgslOf(rel: string): string | undefined {
  if (rel.includes('/') ? !rel.endsWith('.h') : !rel.endsWith('.hip')) return undefined;
  return `${rel.replace(/\.(hip|h)$/, '')}.wgsl`;
}

export function checkTwins(shaderDir: string, hipDir: string): string[] {
  const problems: string[] = [];
  const wgsl = walk(shaderDir).map((p) => relative(shaderDir, p)).filter((p) => p.endsWith('.wgsl'));
  const hip = new Set(walk(hipDir).map((p) => relative(hipDir, p)));
  const wgslSet = new Set(wgsl);
  for (const rel of wgsl) {
    const twin = twinOf(rel);
    if (!hip.has(twin)) {
      problems.push(`shaders/${rel} has no HIP twin native-hip/kernels/${twin}`);
      continue;
    }
    if (!twin.endsWith('.hip')) continue;
    const wsrc = readFileSync(join(shaderDir, rel), 'utf8');
    const hsrc = readFileSync(join(hipDir, twin), 'utf8');
    const stem = twin.replace(/\.hip$/, '');
    if (!new RegExp(`extern\\s+"C"\\s+int\\s+rf_k_${stem}\\s*\\(\\s*const\\s+rf_launch\\s*\\*`).test(hsrc)) {
      problems.push(`native-hip/kernels/${twin} does not export extern "C" int rf_k_${stem}(const rf_launch*)`);
    }
    let wp: Field[] | undefined;
    let hp: Field[] | undefined;
    try {
      wp = wgslParams(wsrc);
      hp = hipParams(hsrc);
    } catch (e) {
      problems.push(`${rel} / ${twin}: ${(e as Error).message}`);
      continue;
    }
    if (wp && !hp) problems.push(`native-hip/kernels/${twin} has no struct Params (shaders/${rel} has ${wp.length} fields)`);
    if (!wp && hp) problems.push(`native-hip/kernels/${twin} has a struct Params but shaders/${rel} has none`);
    if (wp && hp) {
      const w = wp.map((f) => `${f.name}: ${f.type}`).join(', ');
      const h = hp.map((f) => `${f.name}: ${f.type}`).join(', ');
      if (w !== h) problems.push(`Params of ${stem} differ: WGSL { ${w} } vs HIP { ${h} }`);
    }
    const bindings = wgslBindingCount(wsrc);
    for (const m of stripComments(hsrc).matchAll(/\brf_buf\s*\(\s*l\s*,\s*(\d+)\s*\)/g)) {
      if (Number(m[1]) >= bindings) problems.push(`native-hip/kernels/${twin} binds buffer ${m[1]} but shaders/${rel} declares ${bindings} storage bindings`);
    }
  }
  for (const rel of [...hip].sort()) {
    const w = wgslOf(rel);
    if (w === undefined) {
      problems.push(`native-hip/kernels/${rel} is neither a kernel (.hip at the top) nor a helper header (.h in a subdirectory)`);
    } else if (!wgslSet.has(w)) {
      problems.push(`native-hip/kernels/${rel} has no WGSL twin shaders/${w}`);
    }
  }
  return problems;
}

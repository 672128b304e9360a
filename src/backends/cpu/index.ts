export { CpuBackend, createCpuBackend } from './backend.ts';

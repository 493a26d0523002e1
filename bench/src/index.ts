// Benchmarks package marker: each benchmark is src/<name>.bench.ts.
export {};

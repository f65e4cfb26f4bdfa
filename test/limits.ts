/**
 * How long a test, or a process it starts, may take before it counts as hung: ten minutes. A time
 * limit catches a hang, never slowness: on the shared 2-core machine at a load of 30 a README block
 * that takes 3 s on a quiet one took 100 s, and a test must pass there too (no result may depend
 * on the machine's speed).
 */
export const hangLimit = 600_000;

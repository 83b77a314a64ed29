/** The synthetic fleet shared by the benchmark and its DNS process. */
export const fleetDomain = (i: number) => `d${String(i).padStart(5, '0')}.bench`;
export const fleetTokens = (i: number) => ['a', 'b', 'c'].map((s) => `${s}${String(i).padStart(5, '0')}tok`);

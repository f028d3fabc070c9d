export declare const KEEP_ALIVE_MS: number;
export declare function nextStartArgs(host: string, port: number | string): string[];

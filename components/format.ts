/** UI-side helpers: formatting numbers, tones of statuses, parsing what people type. */

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** Bytes per second → "12 KiB/s"; small rates as B/s. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.max(0, Math.round(bytesPerSecond)))}/s`;
}

/** 12345 → "12,345". */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** A published port as the graph shows it: {tcp, 8080, 80} → "tcp 8080→80". */
export function formatPort(p: { protocol: string; hostPort: number; sandboxPort: number }): string {
  return `${p.protocol} ${p.hostPort}→${p.sandboxPort}`;
}

/** Tone of a status badge. */
export function statusTone(status: string): "green" | "amber" | "rose" | "slate" {
  return status === "ok" ? "green" : status === "drift" ? "amber" : status === "error" ? "rose" : "slate";
}

/** "1.1.1.1, 9.9.9.9" or "nobody www-data" → ["1.1.1.1", "9.9.9.9"] / ["nobody", "www-data"]. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Expands a bulk pattern: "lab-1..20" → lab-1 … lab-20; "web-01..12" keeps the zero
 * padding; a plain name is itself. Returns null when the pattern is not understood.
 */
export function expandPattern(pattern: string): string[] | null {
  const text = pattern.trim();
  const m = /^(.*?)(\d+)\.\.(\d+)(.*)$/.exec(text);
  if (!m) return text ? [text] : null;
  const [, prefix, a, b, suffix] = m as unknown as [string, string, string, string, string];
  const from = Number(a);
  const to = Number(b);
  if (to < from || to - from >= 1000) return null;
  const width = a.length > 1 && a.startsWith("0") ? a.length : 0;
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`${prefix}${width ? String(i).padStart(width, "0") : i}${suffix}`);
  return out;
}

/** A least-squares line through points: slope (y per x unit), intercept, and how many points it used. */
export interface LineFit {
  slope: number;
  intercept: number;
  points: number;
}

/** Ordinary least squares of y on x; points with a non-finite y are left out. `null` below 2 points or with one x. */
export function leastSquares(points: { x: number; y: number | null }[]): LineFit | null {
  const used = points.filter((p): p is { x: number; y: number } => p.y !== null && Number.isFinite(p.y));
  const n = used.length;
  if (n < 2) return null;
  const mx = used.reduce((s, p) => s + p.x, 0) / n;
  const my = used.reduce((s, p) => s + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of used) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, points: n };
}

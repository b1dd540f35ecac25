/** Distances on the earth's surface, for `closest` answers (PowerDNS `pickclosest`). */
import type { Coordinates } from "../config/geo-database.js";

const RADIANS = Math.PI / 180;
/** The mean earth radius (IUGG), in km. */
const EARTH_RADIUS_KM = 6371.0088;

/** The great-circle distance between two points in km (the haversine formula, exact on a sphere). */
export function greatCircleKm(a: Coordinates, b: Coordinates): number {
  const dLat = (b.latitude - a.latitude) * RADIANS;
  const dLon = (b.longitude - a.longitude) * RADIANS;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.latitude * RADIANS) * Math.cos(b.latitude * RADIANS) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * `items` nearest to `from` first; items without a place keep their order after the placed
 * ones, and so do items at the same distance (the sort is stable).
 */
export function nearestFirst<T>(
  items: readonly T[],
  from: Coordinates,
  placeOf: (item: T) => Coordinates | undefined,
): T[] {
  const measured = items.map((item, index) => {
    const place = placeOf(item);
    return {
      item,
      index,
      km: place === undefined ? Number.POSITIVE_INFINITY : greatCircleKm(from, place),
    };
  });
  measured.sort((a, b) => a.km - b.km || a.index - b.index);
  return measured.map((m) => m.item);
}

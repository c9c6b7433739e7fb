import "leaflet/dist/leaflet.css";
import { circleMarker } from "leaflet";
import { CircleMarker, GeoJSON, MapContainer, Popup, TileLayer, useMapEvents } from "react-leaflet";
import type { ReactNode } from "react";
import { useSession } from "../session";

function Tiles() {
  const { config } = useSession();
  // Without a tile server (offline installs) the map still shows points on a plain background.
  if (!config.tile_url) return null;
  return <TileLayer url={config.tile_url} attribution={config.tile_attribution} />;
}

export function BaseMap({
  children,
  center,
  zoom,
  height = 360,
  label = "Map",
}: {
  children?: ReactNode;
  center?: [number, number];
  zoom?: number;
  height?: number;
  label?: string;
}) {
  const { config } = useSession();
  return (
    <div className="map" style={{ height }} aria-label={label} data-testid="map">
      <MapContainer
        center={center || config.map_center}
        zoom={zoom ?? config.map_zoom}
        style={{ height: "100%", width: "100%" }}
        scrollWheelZoom={false}
      >
        <Tiles />
        {children}
      </MapContainer>
    </div>
  );
}

function ClickToPick({ onPick }: { onPick: (lat: number, lon: number) => void }) {
  useMapEvents({
    click(event) {
      onPick(Number(event.latlng.lat.toFixed(6)), Number(event.latlng.lng.toFixed(6)));
    },
  });
  return null;
}

/** Pick a location by clicking the map; the chosen point is shown as a marker. */
export function LocationPicker({
  lat,
  lon,
  onPick,
}: {
  lat: number | null;
  lon: number | null;
  onPick: (lat: number, lon: number) => void;
}) {
  const center: [number, number] | undefined = lat !== null && lon !== null ? [lat, lon] : undefined;
  return (
    <BaseMap center={center} height={300} label="Click the map to set the location">
      <ClickToPick onPick={onPick} />
      {center && (
        <CircleMarker center={center} radius={9} pathOptions={{ color: "#d62828", fillOpacity: 0.8 }}
          className="picked-location" />
      )}
    </BaseMap>
  );
}

export interface MapPoint {
  id: string;
  lat: number;
  lon: number;
  title: string;
  body?: ReactNode;
  color?: string;
}

export function PointsMap({ points, height = 400 }: { points: MapPoint[]; height?: number }) {
  const first = points[0];
  return (
    <BaseMap center={first ? [first.lat, first.lon] : undefined} height={height} label="Incidents on the map">
      {points.map((point) => (
        <CircleMarker
          key={point.id}
          center={[point.lat, point.lon]}
          radius={7}
          pathOptions={{ color: point.color || "#1d3557", fillOpacity: 0.7 }}
          className={`incident-marker incident-${point.id}`}
        >
          <Popup>
            <strong>{point.title}</strong>
            {point.body}
          </Popup>
        </CircleMarker>
      ))}
    </BaseMap>
  );
}

// A GeoJSON FeatureCollection drawn with a colour by a numeric property.
export function GeoJsonMap({
  data,
  valueKey,
  height = 460,
  describe,
}: {
  data: GeoJSON.FeatureCollection | null;
  valueKey: string;
  height?: number;
  describe?: (props: Record<string, unknown>) => string;
}) {
  const values = (data?.features || []).map((f) => Number(f.properties?.[valueKey] ?? 0));
  const max = Math.max(1, ...values);
  const colour = (value: number) => {
    const t = Math.min(1, value / max);
    const r = Math.round(255 * Math.min(1, 0.3 + t));
    const g = Math.round(200 * (1 - t));
    return `rgb(${r},${g},60)`;
  };
  return (
    <BaseMap height={height} label="Hotspot map">
      {data && (
        <GeoJSON
          key={JSON.stringify(data).length + ":" + valueKey}
          data={data}
          style={(feature) => {
            const v = Number(feature?.properties?.[valueKey] ?? 0);
            return { color: colour(v), weight: 1, fillOpacity: 0.55 };
          }}
          pointToLayer={(feature, latlng) => {
            const v = Number(feature.properties?.[valueKey] ?? 0);
            return circleMarker(latlng, { radius: 5 + 10 * (v / max), color: colour(v), fillOpacity: 0.7 });
          }}
          onEachFeature={(feature, layer) => {
            if (describe) layer.bindPopup(describe(feature.properties || {}));
          }}
        />
      )}
    </BaseMap>
  );
}


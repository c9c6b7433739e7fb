import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

const here = dirname(fileURLToPath(import.meta.url));

// The gateway's /docs page uses Swagger UI from here, so API docs work without internet.
function swaggerUi(): Plugin {
  return {
    name: "stationhouse-swagger-ui",
    apply: "build",
    writeBundle() {
      const from = resolve(here, "node_modules/swagger-ui-dist");
      const to = resolve(here, "dist/swagger");
      mkdirSync(to, { recursive: true });
      for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"]) {
        copyFileSync(resolve(from, file), resolve(to, file));
      }
    },
  };
}

// Built files go to web/dist, which the gateway serves at /. In development, `npm run dev`
// proxies the API to a gateway on :8000.
export default defineConfig({
  plugins: [react(), swaggerUi()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/config.json": "http://127.0.0.1:8000",
      "/openapi.json": "http://127.0.0.1:8000",
    },
  },
});

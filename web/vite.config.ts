import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Built files go to web/dist, which the gateway serves at /. In development, `npm run dev`
// proxies the API to a gateway on :8000.
export default defineConfig({
  plugins: [react()],
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
    },
  },
});

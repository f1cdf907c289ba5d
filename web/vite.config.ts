/// <reference types="vitest/config" />
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const backend = process.env.AGENTDECK_DEV_BACKEND ?? "http://127.0.0.1:8000";
const proxied = ["/api", "/healthz", "/readyz", "/metrics"];

/** What the API docs page (/docs) loads, copied from the `swagger-ui-dist` package into the
 * build's `swagger/` folder: the server ships them, so /docs needs no CDN. */
const SWAGGER_FILES = [
  "swagger-ui-bundle.js",
  "swagger-ui-bundle.js.LICENSE.txt",
  "swagger-ui.css",
  "favicon-32x32.png",
  "LICENSE",
  "NOTICE",
];

function swaggerUi(): Plugin {
  const dist = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  return {
    name: "agentdeck-swagger-ui",
    apply: "build",
    generateBundle() {
      for (const file of SWAGGER_FILES) {
        this.emitFile({
          type: "asset",
          fileName: `swagger/${file}`,
          source: readFileSync(join(dist, file)),
        });
      }
    },
  };
}

export default defineConfig({
  plugins: [react(), swaggerUi()],
  build: {
    outDir: "../src/agentdeck/server/static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    proxy: Object.fromEntries(
      proxied.map((path) => [path, { target: backend, changeOrigin: false, ws: path === "/api" }]),
    ),
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
  },
});

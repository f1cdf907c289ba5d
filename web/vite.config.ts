/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const backend = process.env.AGENTDECK_DEV_BACKEND ?? "http://127.0.0.1:8000";
const proxied = ["/api", "/healthz", "/readyz", "/metrics"];

export default defineConfig({
  plugins: [react()],
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

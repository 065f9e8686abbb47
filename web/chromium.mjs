// How the browser test and web/screenshot.mjs start headless Chromium (Debian's `chromium`, driven by
// playwright-core, which brings no browser of its own).
//
// --enable-unsafe-webgpu: WebGPU on Linux is behind this flag; it also lifts the blocklist entry that hides
//   CPU adapters ("not fully tested or conformant"), so headless Chromium offers SwiftShader's Vulkan.
// --no-sandbox: containers without user namespaces.
// The rest keeps a headless run quiet and offline. --enable-features=Vulkan / --use-angle=vulkan change
// nothing for WebGPU here (docs/browser.md: Chromium's Dawn offers lavapipe only as a GLES compat adapter).
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

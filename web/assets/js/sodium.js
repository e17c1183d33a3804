// Loads libsodium (the portal's copy in /assets/vendor/, installed by the
// build from npm) on first use and hands it to crypto.js. The explorer
// needs no cryptography, so the page does not wait for it.
import { cryptoInit } from "./crypto.js";

let ready = null;

export function loadSodium() {
  if (ready === null) {
    ready = import("../vendor/sodium-wrappers.mjs").then(async (m) => {
      const sodium = m.default;
      await sodium.ready;
      cryptoInit(sodium);
      return sodium;
    });
  }
  return ready;
}

// Installs the portal into a directory the node serves:
//
//   node web/build.mjs OUT
//
// OUT/index.html and OUT/assets/ are web/'s own files, copied as they are;
// OUT/assets/vendor/ gets libsodium's ES module build from web/node_modules
// (npm ci, run by scripts/npm-ensure), with its one bare import made relative
// so that the browser loads it without an import map (an inline script the
// Content-Security-Policy forbids). Nothing is fetched: the result works
// offline. The new tree is assembled beside OUT and swapped in with renames,
// so a running node never serves a half-copied portal.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

// What the portal takes from npm: [package-relative source, name in vendor/].
const VENDOR = [
  ["libsodium-wrappers-sumo/dist/modules-sumo-esm/libsodium-wrappers.mjs", "sodium-wrappers.mjs"],
  ["libsodium-sumo/dist/modules-sumo-esm/libsodium-sumo.mjs", "sodium-sumo.mjs"],
  ["libsodium-wrappers-sumo/LICENSE", "sodium-LICENSE.txt"],
];

function fail(msg) {
  process.stderr.write(`web/build.mjs: ${msg}\n`);
  process.exit(1);
}

function copyTree(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const ent of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, ent.name);
    const dst = path.join(to, ent.name);
    if (ent.isDirectory()) {
      copyTree(src, dst);
    } else if (ent.isFile()) {
      fs.copyFileSync(src, dst);
    } else {
      fail(`${src}: only plain files and folders belong in the portal`);
    }
  }
}

function vendor(dir) {
  const modules = path.join(here, "node_modules");
  fs.mkdirSync(dir, { recursive: true });
  for (const [src, name] of VENDOR) {
    const from = path.join(modules, src);
    if (!fs.existsSync(from)) {
      fail(`${from} is missing: run scripts/npm-ensure web`);
    }
    let text = fs.readFileSync(from, "utf8");
    if (name === "sodium-wrappers.mjs") {
      const bare = /from\s*"libsodium-sumo"/g;
      if ((text.match(bare) || []).length !== 1) {
        fail(`${src}: expected exactly one import of libsodium-sumo`);
      }
      text = text.replace(bare, 'from"./sodium-sumo.mjs"');
    }
    fs.writeFileSync(path.join(dir, name), text);
  }
}

function main() {
  const out = process.argv[2];
  if (!out) {
    fail("usage: node web/build.mjs OUT");
  }
  const target = path.resolve(out);
  const fresh = `${target}.new`;
  const old = `${target}.old`;
  fs.rmSync(fresh, { recursive: true, force: true });
  fs.rmSync(old, { recursive: true, force: true });
  fs.mkdirSync(fresh, { recursive: true });
  fs.copyFileSync(path.join(here, "index.html"), path.join(fresh, "index.html"));
  copyTree(path.join(here, "assets"), path.join(fresh, "assets"));
  vendor(path.join(fresh, "assets", "vendor"));
  if (fs.existsSync(target)) {
    fs.renameSync(target, old);
  }
  fs.renameSync(fresh, target);
  fs.rmSync(old, { recursive: true, force: true });
}

main();

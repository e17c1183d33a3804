// The portal's entry point: one page, five views chosen by the address's
// fragment (#/explorer, #/patient, #/doctor, #/pharmacy, #/regulator).
// Each view is built once and kept, so a key opened in the patient's view
// stays there while the explorer is shown.
import { initDoctor } from "./doctor.js";
import { initExplorer } from "./explorer.js";
import { initPatient } from "./patient.js";
import { initPharmacy } from "./pharmacy.js";
import { initRegulator } from "./regulator.js";
import { $ } from "./ui.js";

const win = $("#window");
$("#window .window-close").addEventListener("click", () => win.close());
win.addEventListener("click", (ev) => {
  if (ev.target === win) {
    win.close(); // a click on the backdrop
  }
});

const views = {
  explorer: () => initExplorer($("#view-explorer"), win),
  patient: () => initPatient($("#view-patient")),
  doctor: () => initDoctor($("#view-doctor")),
  pharmacy: () => initPharmacy($("#view-pharmacy")),
  regulator: () => initRegulator($("#view-regulator")),
};
const built = new Map();

function show() {
  const name = (location.hash.match(/^#\/([a-z]+)/) ?? [])[1];
  const view = name in views ? name : "explorer";
  for (const key of Object.keys(views)) {
    $(`#view-${key}`).hidden = key !== view;
    const link = $(`nav a[data-view="${key}"]`);
    if (key === view) {
      link.setAttribute("aria-current", "page");
    } else {
      link.removeAttribute("aria-current");
    }
  }
  if (!built.has(view)) {
    built.set(view, views[view]());
  }
  built.get(view).onShow();
  document.title = `medchain · ${view}`;
}

window.addEventListener("hashchange", show);
show();

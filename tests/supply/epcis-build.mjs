// Builds one EPCIS 2.0 JSON document with epcis2.js, the way a trading
// partner's system would, from a small JSON spec (argv[2]); prints
// {"document": ..., "hashes": [...]} where hashes are epcis2.js's own
// event hash ids (eventToHashedId), for the test to compare with the node's.
//
// Spec: {"events": [{"kind": "commission" | "pack" | "unpack" | "ship" |
//   "receive" | "decommission" | "dispense", "time": ISO, "epcs": [...],
//   "parent": SSCC URI, "lot": L, "expiry": "YYYY-MM-DD", "source": PGLN URI,
//   "destination": PGLN URI, "location": SGLN URI, "rx": hex}, ...]}
import epcis from 'epcis2.js';
import fs from 'fs';

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

function base(ev, s, action, step) {
  ev.setEventTime(s.time);
  ev.setAction(action);
  ev.setBizStep(step);
  if (s.location) {
    ev.setReadPoint(s.location);
  }
  return ev;
}

function objectEvent(s, action, step) {
  const ev = base(new epcis.ObjectEvent(), s, action, step);
  ev.addEPCList(s.epcs);
  return ev;
}

function party(Element, key, value) {
  return new Element({ type: 'owning_party', [key]: value });
}

const builders = {
  commission(s) {
    const ev = objectEvent(s, 'ADD', 'commissioning');
    ev.setDisposition('active');
    ev.setIlmd(new epcis.Ilmd({ 'cbvmda:lotNumber': s.lot, 'cbvmda:itemExpirationDate': s.expiry }));
    return ev;
  },
  pack(s) {
    const ev = base(new epcis.AggregationEvent(), s, 'ADD', 'packing');
    ev.setParentId(s.parent);
    ev.addChildEPCList(s.epcs);
    return ev;
  },
  unpack(s) {
    const ev = base(new epcis.AggregationEvent(), s, 'DELETE', 'unpacking');
    ev.setParentId(s.parent);
    ev.addChildEPCList(s.epcs);
    return ev;
  },
  ship(s) {
    const ev = objectEvent(s, 'OBSERVE', 'shipping');
    ev.setDisposition('in_transit');
    ev.addSource(party(epcis.SourceElement, 'source', s.source));
    ev.addDestination(party(epcis.DestinationElement, 'destination', s.destination));
    return ev;
  },
  receive(s) {
    const ev = objectEvent(s, 'OBSERVE', 'receiving');
    ev.setDisposition('in_progress');
    ev.addDestination(party(epcis.DestinationElement, 'destination', s.destination));
    return ev;
  },
  decommission(s) {
    return objectEvent(s, 'DELETE', 'decommissioning');
  },
  dispense(s) {
    const ev = objectEvent(s, 'OBSERVE', 'dispensing');
    if (s.rx) {
      ev.addBizTransaction(new epcis.BizTransactionElement({
        type: 'prescription', bizTransaction: `urn:medchain:rx:${s.rx}`,
      }));
    }
    return ev;
  },
};

const doc = new epcis.EPCISDocument();
const hashes = [];
for (const s of spec.events) {
  const ev = builders[s.kind](s);
  doc.addEvent(ev);
  hashes.push(epcis.eventToHashedId(ev.toObject(), {}, false));
}
process.stdout.write(JSON.stringify({ document: doc.toObject(), hashes }));

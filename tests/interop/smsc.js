#!/usr/bin/env node
// An independent SMSC for interop tests, written with node-smpp (npm "smpp"), so that
// rechargd is checked against an SMPP stack that is not our own.
//
//   node smsc.js --port P --system-id ID --password PW --scenario FILE
//                [--esme-addr 5555] [--record FILE] [--reject-binds N] [--linger S]
//
// It listens on 127.0.0.1:P, accepts bind_transceiver with the given system_id and
// password (anything else: ESME_RBINDFAIL; the first N binds are refused anyway with
// --reject-binds, to see the ESME retry), answers enquire_link and unbind, answers
// submit_sm with a hex message_id and records the MT (node-smpp decodes short_message or
// message_payload per data_coding; UDH 8/16-bit and SAR concatenation is reassembled).
//
// FILE holds one step per line (JSON; blank lines and lines starting with # ignored):
//   {"name": N, "bind": SECONDS}                   the ESME binds within SECONDS
//   {"name": N, "mo": {"from", "text", "data_coding", "ton", "npi",
//                      "concat": K, "order": "reverse"},
//    "expect": REGEX, "timeout": S,                 one reply to "from" matching REGEX
//    "min_parts": K, "reply_dc": DC,                (dotAll), in >= K parts, data_coding DC,
//    "lines": [L...], "capture": {NAME: REGEX}}     holding each L as a whole line; group 1
//                                                  of REGEX saved as NAME
//   {"name": N, "mo": {...}, "expect_none": S}     no reply to "from" within S seconds
//   {"name": N, "dlr": MSISDN, "match": REGEX,     a delivery receipt for every part of the
//    "expect_none": S}                             last reply to MSISDN (matching REGEX);
//                                                  answered ESME_ROK, no MT within S seconds
//   {"name": N, "enquire_link": S}                 we send enquire_link; answered within S
//   {"name": N, "wait_enquire_link": S}            the ESME sends an enquire_link within S
// "{NAME}" in an MO text is replaced by what a capture saved. With "concat" the MO goes
// as UDH concatenated parts (IEI 0x00, 8-bit reference, esm_class 0x40) of at most K
// characters each (true: 153 GSM septets or 67 UCS-2 units), in "order" (default in
// sequence; "reverse": last part first).
// Every MO must be answered ESME_ROK (a non-ROK answer is redelivered, like a real SMSC,
// up to 5 times). Each reply must go to the MO's source as received (same TON/NPI) and,
// with --esme-addr, come from that address.
//
// Prints "ok NAME" / "not ok NAME" per step, then the scenario-wide checks, diagnostics
// as "# ...". After the steps it writes --record (one line per reassembled MT:
// message_id_of_last_part TAB destination TAB parts TAB JSON text), prints
// "# scenario done" and waits (up to --linger seconds) for the ESME to unbind and close.
// Exit status: 0 when every check passed, 1 otherwise, 2 on bad usage.
'use strict';

const fs = require('fs');
const EventEmitter = require('events');
const smpp = require('smpp');

// ---- arguments ------------------------------------------------------------------------
const opt = { 'esme-addr': '', record: '', 'reject-binds': '0', linger: '30' };
for (let i = 2; i < process.argv.length; i += 2) {
	const k = process.argv[i], v = process.argv[i + 1];
	if (!k.startsWith('--') || v === undefined) usage(`bad argument ${k}`);
	opt[k.slice(2)] = v;
}
for (const k of ['port', 'system-id', 'password', 'scenario'])
	if (opt[k] === undefined) usage(`--${k} is required`);

function usage(why) {
	process.stderr.write(`smsc.js: ${why}\nusage: node smsc.js --port P --system-id ID ` +
		'--password PW --scenario FILE [--esme-addr A] [--record FILE] [--reject-binds N] [--linger S]\n');
	process.exit(2);
}

let steps;
try {
	steps = fs.readFileSync(opt.scenario, 'utf8').split('\n')
		.map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
		.map((l) => JSON.parse(l));
} catch (e) {
	usage(`scenario ${opt.scenario}: ${e.message}`);
}

// ---- output ---------------------------------------------------------------------------
let failures = 0;
const say = (line) => process.stdout.write(line + '\n');
const note = (line) => say('# ' + line);
function result(name, good, why) {
	if (good) {
		say(`ok ${name}`);
	} else {
		failures++;
		say(`not ok ${name}`);
		for (const l of String(why || '').split('\n')) if (l) say(`#   ${l}`);
	}
	return good;
}
const show = (s) => JSON.stringify(s);

// ---- state ----------------------------------------------------------------------------
const bus = new EventEmitter();   // 'change' whenever anything a step waits for moves
bus.setMaxListeners(0);
const st = {
	session: null,        // the bound transceiver session
	binds: 0,             // successful binds
	rejected: 0,          // binds we refused (scripted or bad credentials)
	rejectLeft: Number(opt['reject-binds']),
	drops: 0,             // bound sessions that closed during the scenario
	enquires: 0,          // enquire_link received from the ESME
	unbinds: 0,           // unbind received from the ESME
	nextId: 0,
	queues: new Map(),    // destination -> reassembled MTs not yet consumed by a step
	partial: new Map(),   // concatenation key -> { parts: [], ... }
	records: [],          // every reassembled MT, in arrival order
	protocol: [],         // protocol problems seen (generic_nack, unexpected PDUs, ...)
	scenarioDone: false,
	vars: {},             // what "capture" saved, for "{NAME}" in later steps
	moRef: 0x40,          // next 8-bit reference of a concatenated MO
};
const change = () => bus.emit('change');

// Resolves with the first truthy check() value, or null after ms.
function waitFor(check, ms) {
	return new Promise((resolve) => {
		let done = false;
		const finish = (v) => {
			if (done) return;
			done = true;
			clearTimeout(timer);
			bus.removeListener('change', poke);
			resolve(v);
		};
		const poke = () => { const v = check(); if (v) finish(v); };
		const timer = setTimeout(() => finish(null), ms);
		bus.on('change', poke);
		poke();
	});
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Sends a request on the bound session; resolves with the response PDU or null (timeout).
function request(command, fields, ms) {
	return new Promise((resolve) => {
		const s = st.session;
		if (!s) return resolve(null);
		const timer = setTimeout(() => resolve(null), ms);
		const sent = s[command](fields, (resp) => { clearTimeout(timer); resolve(resp); });
		if (!sent) { clearTimeout(timer); resolve(null); }
	});
}

const statusName = (code) =>
	Object.keys(smpp.errors).find((k) => smpp.errors[k] === code) || `0x${code.toString(16)}`;

// ---- the SMSC side of the protocol ------------------------------------------------------
const server = smpp.createServer((s) => {
	const peer = `${s.socket.remoteAddress}:${s.socket.remotePort}`;
	note(`connection from ${peer}`);
	s.bound = false;
	s.unbound = false;
	s.on('pdu', (pdu) => onPdu(s, pdu));
	s.on('error', (e) => note(`connection ${peer}: ${e.message}`));
	s.on('close', () => {
		note(`connection ${peer} closed${s.unbound ? ' after unbind' : ''}`);
		if (st.session === s) {
			st.session = null;
			if (!st.scenarioDone) st.drops++;
		}
		change();
	});
});
server.on('error', (e) => { note(`listen: ${e.message}`); process.exit(2); });
server.listen(Number(opt.port), '127.0.0.1', () => note(`listening on 127.0.0.1:${opt.port}`));

function onPdu(s, pdu) {
	switch (pdu.command) {
	case 'bind_transceiver': return onBind(s, pdu);
	case 'bind_transmitter':
	case 'bind_receiver':
		st.rejected++;
		note(`${pdu.command} refused: this SMSC takes transceivers only`);
		s.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
		return change();
	case 'enquire_link':
		s.send(pdu.response());
		st.enquires++;
		return change();
	case 'unbind':
		s.unbound = true;
		st.unbinds++;
		note('unbind from the ESME, answered');
		s.send(pdu.response(), () => s.close());
		return change();
	case 'submit_sm':
		if (!s.bound) {
			st.protocol.push('submit_sm before bind');
			return s.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
		}
		return onSubmit(s, pdu);
	case 'generic_nack':
		st.protocol.push(`generic_nack from the ESME: ${statusName(pdu.command_status)} seq ${pdu.sequence_number}`);
		return change();
	default:
		if (pdu.isResponse()) return;   // matched to its request by node-smpp
		st.protocol.push(`unexpected ${pdu.command} from the ESME`);
		s.send(pdu.command === 'unknown' ? pdu.response()
			: pdu.response({ command_status: smpp.ESME_RINVCMDID }));
		return change();
	}
}

function onBind(s, pdu) {
	let status = smpp.ESME_ROK;
	if (s.bound) {
		status = smpp.ESME_RALYBND;
	} else if (pdu.system_id !== opt['system-id'] || pdu.password !== opt.password) {
		status = smpp.ESME_RBINDFAIL;
		note(`bind refused: system_id ${show(pdu.system_id)} password ${show(pdu.password)}`);
	} else if (st.rejectLeft > 0) {
		st.rejectLeft--;
		status = smpp.ESME_RBINDFAIL;
		note('bind refused with ESME_RBINDFAIL (scripted, --reject-binds)');
	}
	if (status !== smpp.ESME_ROK) {
		if (status === smpp.ESME_RBINDFAIL) st.rejected++;
		s.send(pdu.response({ command_status: status }), () => { if (!s.bound) s.close(); });
		return change();
	}
	s.bound = true;
	st.binds++;
	if (st.session && st.session !== s) st.session.destroy();
	st.session = s;
	note(`bound: system_id ${show(pdu.system_id)} system_type ${show(pdu.system_type)} ` +
		`interface_version 0x${(pdu.interface_version || 0).toString(16)}`);
	s.send(pdu.response({ system_id: 'nodesmsc' }));
	change();
}

// The concatenation of an MT part: {ref, total, seq} from a UDH IE (0x00 8-bit or 0x08
// 16-bit reference) or the SAR TLVs; null for a single message.
function concatInfo(pdu, body) {
	for (const ie of (body && body.udh) || []) {
		if (ie[0] === 0x00 && ie[1] === 3) return { ref: ie[2], total: ie[3], seq: ie[4], how: 'UDH8' };
		if (ie[0] === 0x08 && ie[1] === 4) return { ref: ie.readUInt16BE(2), total: ie[4], seq: ie[5], how: 'UDH16' };
	}
	if (pdu.sar_msg_ref_num !== undefined)
		return { ref: pdu.sar_msg_ref_num, total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum, how: 'SAR' };
	return null;
}

function onSubmit(s, pdu) {
	const id = (0xa0000000 + ++st.nextId).toString(16);   // hex, with letters
	s.send(pdu.response({ message_id: id }));

	const payload = pdu.message_payload !== undefined;
	const body = payload ? pdu.message_payload : pdu.short_message;
	let text = body && body.message !== undefined ? body.message : '';
	if (Buffer.isBuffer(text)) text = `<undecoded data_coding ${pdu.data_coding}: ${text.toString('hex')}>`;
	const part = {
		id, text, dc: pdu.data_coding, esm_class: pdu.esm_class, source: pdu.source_addr,
		dest: pdu.destination_addr, ton: pdu.dest_addr_ton, npi: pdu.dest_addr_npi,
		registered_delivery: pdu.registered_delivery, payload,
	};
	const c = concatInfo(pdu, body);
	note(`submit_sm ${id} to ${part.dest} (ton ${part.ton} npi ${part.npi}) dc ${part.dc} ` +
		`esm_class 0x${(part.esm_class || 0).toString(16)}${c ? ` part ${c.seq}/${c.total} ref ${c.ref} ${c.how}` : ''}` +
		`${payload ? ' message_payload' : ''}: ${show(text)}`);
	if (!c) return complete([part], null);

	if (!(c.total >= 1 && c.seq >= 1 && c.seq <= c.total)) {
		st.protocol.push(`submit_sm ${id}: part ${c.seq} of ${c.total}`);
		return change();
	}
	if (c.how !== 'SAR' && !(part.esm_class & 0x40)) st.protocol.push(`submit_sm ${id}: UDH without esm_class 0x40`);
	const key = `${part.dest}|${part.ton}|${part.npi}|${c.how}|${c.ref}|${c.total}`;
	let p = st.partial.get(key);
	if (!p) st.partial.set(key, (p = { parts: new Array(c.total).fill(null), have: 0 }));
	if (p.parts[c.seq - 1]) {
		st.protocol.push(`submit_sm ${id}: part ${c.seq}/${c.total} ref ${c.ref} twice`);
		return change();
	}
	p.parts[c.seq - 1] = part;
	if (++p.have < c.total) return change();
	st.partial.delete(key);
	complete(p.parts, c);
}

function complete(parts, c) {
	const last = parts[parts.length - 1];
	const mt = {
		id: last.id, ids: parts.map((p) => p.id), text: parts.map((p) => p.text).join(''),
		dest: last.dest, ton: last.ton, npi: last.npi, sources: [...new Set(parts.map((p) => p.source))],
		dcs: [...new Set(parts.map((p) => p.dc))], parts: parts.length, how: c ? c.how : 'single',
	};
	if (parts.length > 1) note(`reassembled ${mt.parts} parts to ${mt.dest}: ${show(mt.text)}`);
	st.records.push(mt);
	if (!st.queues.has(mt.dest)) st.queues.set(mt.dest, []);
	st.queues.get(mt.dest).push(mt);
	change();
}

const takeMt = (dest) => { const q = st.queues.get(dest); return q && q.length ? q.shift() : null; };

// deliver_sm until it is answered ESME_ROK (a real SMSC redelivers otherwise).
async function deliver(fields, ms) {
	let last = 'no deliver_sm_resp';
	for (let attempt = 1; attempt <= 5; attempt++) {
		if (!(await waitFor(() => st.session, ms))) return 'not bound';
		const resp = await request('deliver_sm', { ...fields }, ms);
		if (resp && resp.command_status === smpp.ESME_ROK) return null;
		last = resp ? `deliver_sm_resp ${statusName(resp.command_status)}` : `no deliver_sm_resp within ${ms / 1000} s`;
		note(`deliver_sm attempt ${attempt}: ${last}; redelivering`);
		await sleep(1000);
	}
	return last;
}

// "{NAME}" replaced by a captured value (a regex quantifier like {9,} is left alone)
const subst = (t) => String(t).replace(/\{([A-Z_][A-Z0-9_]*)\}/g, (m, k) => (k in st.vars ? st.vars[k] : m));

function moFields(mo) {
	return {
		source_addr_ton: mo.ton !== undefined ? mo.ton : 1,
		source_addr_npi: mo.npi !== undefined ? mo.npi : 1,
		source_addr: mo.from,
		dest_addr_ton: 0, dest_addr_npi: 1,
		destination_addr: opt['esme-addr'] || '5555',
		esm_class: 0,
		// explicit: node-smpp would otherwise pick data_coding 1 for plain ASCII
		data_coding: mo.data_coding !== undefined ? mo.data_coding : 0,
		short_message: subst(mo.text),
	};
}

// Splits text into parts of at most max GSM septets (an extension character takes two
// and is never cut from its escape) or UCS-2 units (a surrogate pair stays whole).
const GSM_EXT = '\f^{}\\[~]|\u20ac';
function splitText(text, dc, max) {
	const parts = [];
	let cur = '', n = 0;
	for (const ch of text) {
		const w = dc === 8 ? ch.length : (GSM_EXT.includes(ch) ? 2 : 1);
		if (n + w > max && cur) { parts.push(cur); cur = ''; n = 0; }
		cur += ch;
		n += w;
	}
	if (cur || !parts.length) parts.push(cur);
	return parts;
}

// An MO as UDH concatenated parts (IEI 0x00, 8-bit reference), each answered ESME_ROK.
async function deliverConcat(fields, mo, ms) {
	const max = mo.concat === true ? (fields.data_coding === 8 ? 67 : 153) : Number(mo.concat);
	const texts = splitText(fields.short_message, fields.data_coding, max);
	const ref = st.moRef++ & 0xff;
	const order = texts.map((_, i) => i);
	if (mo.order === 'reverse') order.reverse();
	note(`MO from ${fields.source_addr}: ${texts.length} UDH parts, ref ${ref}, ` +
		`sent in order ${order.map((i) => i + 1).join(',')}`);
	for (const i of order) {
		const udh = Buffer.from([5, 0x00, 3, ref, texts.length, i + 1]);
		const err = await deliver({ ...fields, esm_class: fields.esm_class | 0x40,
			short_message: { udh, message: texts[i] } }, ms);
		if (err) return `part ${i + 1}/${texts.length}: ${err}`;
	}
	return null;
}

// What is wrong with a reply to mo (null when nothing).
function checkReply(step, mt) {
	const mo = moFields(step.mo), bad = [], expect = subst(step.expect);
	if (!new RegExp(expect, 's').test(mt.text)) bad.push(`text ${show(mt.text)} !~ /${expect}/`);
	const lines = mt.text.split('\n');
	for (const l of step.lines || []) if (!lines.includes(l)) bad.push(`no line ${show(l)}`);
	for (const [k, re] of Object.entries(step.capture || {})) {
		const m = new RegExp(re, 's').exec(mt.text);
		if (m && m[1] !== undefined) st.vars[k] = m[1];
		else bad.push(`nothing to capture as ${k} with /${re}/`);
	}
	if (mt.ton !== mo.source_addr_ton || mt.npi !== mo.source_addr_npi)
		bad.push(`to TON/NPI ${mt.ton}/${mt.npi}, the MO came from ${mo.source_addr_ton}/${mo.source_addr_npi}`);
	if (opt['esme-addr'] && (mt.sources.length !== 1 || mt.sources[0] !== opt['esme-addr']))
		bad.push(`source_addr ${show(mt.sources)}, expected ${show(opt['esme-addr'])}`);
	if (step.min_parts && mt.parts < step.min_parts) bad.push(`${mt.parts} part(s), expected at least ${step.min_parts}`);
	if (mt.dcs.length !== 1) bad.push(`parts with different data_coding ${show(mt.dcs)}`);
	if (step.reply_dc !== undefined && mt.dcs[0] !== step.reply_dc) bad.push(`data_coding ${mt.dcs}, expected ${step.reply_dc}`);
	return bad.length ? bad.join('\n') : null;
}

// ---- the steps ------------------------------------------------------------------------
async function runStep(step) {
	const ms = (step.timeout || 10) * 1000;
	if (step.bind !== undefined) {
		const want = Number(opt['reject-binds']);
		const ok = await waitFor(() => st.session && st.rejected >= want, step.bind * 1000);
		return result(step.name, !!ok,
			`bound ${st.binds} time(s), refused ${st.rejected} of ${want} scripted refusal(s) in ${step.bind} s`);
	}
	if (step.mo) {
		const fields = moFields(step.mo);
		const err = step.mo.concat ? await deliverConcat(fields, step.mo, ms) : await deliver(fields, ms);
		if (err) return result(step.name, false, `MO ${show(step.mo.text)}: ${err}`);
		if (step.expect_none !== undefined) {
			const mt = await waitFor(() => takeMt(step.mo.from), step.expect_none * 1000);
			return result(step.name, !mt, mt && `unexpected reply ${show(mt.text)}`);
		}
		const mt = await waitFor(() => takeMt(step.mo.from), ms);
		if (!mt) return result(step.name, false, `no reply to ${step.mo.from} within ${ms / 1000} s`);
		const bad = checkReply(step, mt);
		return result(step.name, !bad, bad);
	}
	if (step.dlr !== undefined) {
		const mt = [...st.records].reverse().find((m) => m.dest === step.dlr &&
			(step.match === undefined || new RegExp(subst(step.match), 's').test(m.text)));
		if (!mt) return result(step.name, false, `no reply to ${step.dlr} to send a receipt for`);
		note(`receipts for ${mt.ids.join(' ')} (${show(mt.text)})`);
		const now = new Date(), d = (t) => t.toISOString().replace(/[-T:]/g, '').slice(2, 12);
		for (const id of mt.ids) {
			const err = await deliver({
				source_addr_ton: mt.ton, source_addr_npi: mt.npi, source_addr: mt.dest,
				dest_addr_ton: 0, dest_addr_npi: 1, destination_addr: opt['esme-addr'] || '5555',
				esm_class: smpp.ESM_CLASS.MC_DELIVERY_RECEIPT, data_coding: 0,
				short_message: `id:${id} sub:001 dlvrd:001 submit date:${d(now)} done date:${d(now)} ` +
					`stat:DELIVRD err:000 text:${mt.text.slice(0, 20)}`,
				receipted_message_id: id, message_state: smpp.MESSAGE_STATE.DELIVERED,
			}, ms);
			if (err) return result(step.name, false, `receipt for ${id}: ${err}`);
		}
		const extra = await waitFor(() => [...st.queues.values()].flat()[0], (step.expect_none || 3) * 1000);
		return result(step.name, !extra, extra && `the receipt was answered with an SMS to ${extra.dest}: ${show(extra.text)}`);
	}
	if (step.enquire_link !== undefined) {
		const resp = await request('enquire_link', {}, step.enquire_link * 1000);
		return result(step.name, resp && resp.command_status === smpp.ESME_ROK,
			resp ? `enquire_link_resp ${statusName(resp.command_status)}` : 'no enquire_link_resp');
	}
	if (step.wait_enquire_link !== undefined) {
		const before = st.enquires;
		const ok = await waitFor(() => st.enquires > before, step.wait_enquire_link * 1000);
		return result(step.name, !!ok, `no enquire_link from the ESME within ${step.wait_enquire_link} s`);
	}
	return result(step.name || show(step), false, 'unknown step');
}

async function main() {
	const guard = setTimeout(() => { note('scenario took over 300 s, giving up'); process.exit(1); }, 300000);
	for (const [i, step] of steps.entries()) {
		const good = await runStep(step);
		if (!good && step.bind !== undefined) {
			// nothing else can work; report the rest so the count stays the same
			for (const rest of steps.slice(i + 1)) result(rest.name, false, 'skipped: the ESME never bound');
			break;
		}
	}
	clearTimeout(guard);
	const left = [...st.queues.values()].flat();
	result('no reply left unexpected', left.length === 0, left.map((m) => `to ${m.dest}: ${show(m.text)}`).join('\n'));
	result('no unfinished concatenation', st.partial.size === 0, `${st.partial.size} partial message(s)`);
	result('one bind for the whole scenario, no link drop', st.binds === 1 && st.drops === 0,
		`${st.binds} binds, ${st.drops} drops`);
	result('no protocol errors', st.protocol.length === 0, st.protocol.join('\n'));
	if (opt.record)
		fs.writeFileSync(opt.record, st.records.map((m) =>
			`${m.id}\t${m.dest}\t${m.parts}\t${show(m.text)}\n`).join(''));
	st.scenarioDone = true;
	note('scenario done');

	// now the ESME is stopped by whoever runs us: it should unbind, then close
	const closed = await waitFor(() => !st.session && 'closed', Number(opt.linger) * 1000);
	result('the ESME unbinds before it disconnects', closed && st.unbinds > 0,
		closed ? 'closed without unbind' : `still connected after ${opt.linger} s`);
	server.close();
	process.exit(failures ? 1 : 0);
}

main().catch((e) => { note(`internal error: ${e.stack}`); process.exit(2); });

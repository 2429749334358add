#!/usr/bin/perl
# An independent SMSC for interop tests, written with Debian's Net::SMPP
# (libnet-smpp-perl), so that rechargd is checked against a second SMPP stack that is
# neither our own nor node-smpp. Same command line, scenario format, output and record
# file as smsc.js (see the top of that file for the steps):
#
#   perl smsc.pl --port P --system-id ID --password PW --scenario FILE
#                [--esme-addr 5555] [--record FILE] [--reject-binds N] [--linger S]
#
# Net::SMPP is synchronous and leaves text coding and concatenation to its caller, so
# this is one select() loop over the listening socket and the connections: read_pdu when
# a socket is readable, requests sent with async => 1 and matched to their responses by
# sequence number. It accepts bind_transceiver with the given system_id and password
# (else ESME_RBINDFAIL; the first N binds are refused anyway with --reject-binds),
# answers enquire_link and unbind, answers submit_sm with a decimal message_id, decodes
# data_coding 0 (GSM 03.38, one septet per octet, with the extension table), 1, 3 and
# 8 (UCS-2/UTF-16BE) itself, and reassembles UDH (IEI 0x00 8-bit, 0x08 16-bit reference)
# and SAR concatenation. MOs go out as deliver_sm (long ones as UDH parts, IEI 0x00);
# receipts as deliver_sm with esm_class 0x04, receipted_message_id and
# "id:X sub:001 dlvrd:001 submit date:... done date:... stat:DELIVRD err:000 text:...".
#
# Prints "ok NAME" / "not ok NAME" per step and the scenario-wide checks, diagnostics as
# "# ...", then "# scenario done"; waits (up to --linger s) for the ESME to unbind and
# close. Every wait is bounded (the whole scenario by 300 s). Exit status: 0 when every
# check passed, 1 otherwise, 2 on bad usage.
use strict;
use warnings;
use Encode qw(decode encode);
use IO::Select;
use JSON::PP;
use Net::SMPP;
use POSIX qw(strftime);
use Time::HiRes qw(time);

binmode STDOUT, ':encoding(UTF-8)';
STDOUT->autoflush(1);
$SIG{PIPE} = 'IGNORE';

# ---- arguments ------------------------------------------------------------------------
my %opt = ('esme-addr' => '', record => '', 'reject-binds' => 0, linger => 30);
sub usage {
	print STDERR "smsc.pl: $_[0]\nusage: perl smsc.pl --port P --system-id ID --password PW "
	    . "--scenario FILE [--esme-addr A] [--record FILE] [--reject-binds N] [--linger S]\n";
	exit 2;
}
for (my $i = 0; $i < @ARGV; $i += 2) {
	my ($k, $v) = @ARGV[$i, $i + 1];
	usage("bad argument $k") if $k !~ /^--(.+)$/ || !defined $v;
	$opt{$1} = $v;
}
for my $k (qw(port system-id password scenario)) {
	usage("--$k is required") if !defined $opt{$k};
}

my $json = JSON::PP->new->allow_nonref->canonical;
my @steps;
{
	open my $f, '<:encoding(UTF-8)', $opt{scenario} or usage("scenario $opt{scenario}: $!");
	while (my $l = <$f>) {
		$l =~ s/^\s+|\s+$//g;
		next if $l eq '' || $l =~ /^#/;
		my $step = eval { $json->decode($l) } or usage("scenario $opt{scenario}: $@");
		push @steps, $step;
	}
}

# ---- output ---------------------------------------------------------------------------
my $failures = 0;
sub say_line { print "$_[0]\n" }
sub note { say_line("# $_[0]") }
sub show { $json->encode("$_[0]") }
sub result {
	my ($name, $good, $why) = @_;
	if ($good) {
		say_line("ok $name");
	} else {
		$failures++;
		say_line("not ok $name");
		say_line("#   $_") for grep { $_ ne '' } split /\n/, ($why // '');
	}
	return $good;
}
$SIG{__WARN__} = sub { my $w = shift; chomp $w; note("warning: $w") };

# ---- text: GSM 03.38 (3GPP TS 23.038 6.2.1), one septet per octet ----------------------
my @GSM = (
	'@', "\x{A3}", '$', "\x{A5}", "\x{E8}", "\x{E9}", "\x{F9}", "\x{EC}",
	"\x{F2}", "\x{C7}", "\n", "\x{D8}", "\x{F8}", "\r", "\x{C5}", "\x{E5}",
	"\x{394}", '_', "\x{3A6}", "\x{393}", "\x{39B}", "\x{3A9}", "\x{3A0}", "\x{3A8}",
	"\x{3A3}", "\x{398}", "\x{39E}", "\x{A0}", "\x{C6}", "\x{E6}", "\x{DF}", "\x{C9}",
	' ', '!', '"', '#', "\x{A4}", '%', '&', "'", '(', ')', '*', '+', ',', '-', '.', '/',
	'0' .. '9', ':', ';', '<', '=', '>', '?',
	"\x{A1}", 'A' .. 'Z', "\x{C4}", "\x{D6}", "\x{D1}", "\x{DC}", "\x{A7}",
	"\x{BF}", 'a' .. 'z', "\x{E4}", "\x{F6}", "\x{F1}", "\x{FC}", "\x{E0}",
);
die "GSM table has " . scalar(@GSM) . " entries\n" if @GSM != 128;
my %GSM_EXT = (0x0A => "\f", 0x14 => '^', 0x28 => '{', 0x29 => '}', 0x2F => '\\',
	0x3C => '[', 0x3D => '~', 0x3E => ']', 0x40 => '|', 0x65 => "\x{20AC}");
my (%GSM_ENC, %GSM_EXT_ENC);
$GSM_ENC{$GSM[$_]} = $_ for grep { $_ != 0x1B } 0 .. 127;
$GSM_EXT_ENC{$GSM_EXT{$_}} = $_ for keys %GSM_EXT;

# septets (one per octet) to characters; problems are pushed onto @$bad
sub gsm_decode {
	my ($bytes, $bad) = @_;
	my @b = unpack 'C*', $bytes;
	my $out = '';
	for (my $i = 0; $i < @b; $i++) {
		my $c = $b[$i];
		if ($c > 0x7F) {
			push @$bad, sprintf('octet 0x%02x in GSM text', $c);
			$out .= "\x{FFFD}";
		} elsif ($c == 0x1B && $i + 1 < @b) {
			my $e = $b[++$i];
			push @$bad, sprintf('escape 0x1b 0x%02x is not in the extension table', $e)
			    if !exists $GSM_EXT{$e};
			$out .= $GSM_EXT{$e} // $GSM[$e & 0x7F];
		} else {
			$out .= $GSM[$c];
		}
	}
	return $out;
}

# characters to septets; undef when one does not fit (or '?' for it with $lossy)
sub gsm_encode {
	my ($text, $lossy) = @_;
	my $out = '';
	for my $ch (split //, $text) {
		if (exists $GSM_ENC{$ch}) { $out .= chr $GSM_ENC{$ch} }
		elsif (exists $GSM_EXT_ENC{$ch}) { $out .= "\x1B" . chr $GSM_EXT_ENC{$ch} }
		elsif ($lossy) { $out .= '?' }
		else { return undef }
	}
	return $out;
}

sub text_decode {
	my ($dc, $bytes, $bad) = @_;
	return gsm_decode($bytes, $bad) if $dc == 0;
	return $bytes if $dc == 1;                                  # IA5 / ASCII
	return decode('ISO-8859-1', $bytes) if $dc == 3;
	if ($dc == 8) {
		push @$bad, 'odd UCS-2 length ' . length($bytes) if length($bytes) % 2;
		return decode('UTF-16BE', $bytes);
	}
	return "<undecoded data_coding $dc: " . unpack('H*', $bytes) . '>';
}

sub text_encode {
	my ($dc, $text) = @_;
	return $dc == 8 ? encode('UTF-16BE', $text) : gsm_encode($text);
}

# ---- state ----------------------------------------------------------------------------
my %st = (
	session => undef,     # the bound transceiver connection
	binds => 0, rejected => 0, reject_left => $opt{'reject-binds'},
	drops => 0, enquires => 0, unbinds => 0, next_id => 0,
	queues => {},         # destination -> [reassembled MTs not yet consumed by a step]
	partial => {},        # concatenation key -> { parts => [...], have => N }
	records => [],        # every reassembled MT, in arrival order
	protocol => [],       # protocol problems seen
	scenario_done => 0,
	vars => {},           # what "capture" saved
	mo_ref => 0x60,       # next 8-bit reference of a concatenated MO
);
my %conn;                 # fileno -> { sock, peer, bound, unbound, resp => { seq => pdu } }
my $guard = time + 300;

my $listener = Net::SMPP->new_listen('127.0.0.1', port => $opt{port}, listen => 5,
	system_id => 'perlsmsc', enquire_interval => 0)
    or do { note("listen on 127.0.0.1:$opt{port}: $!"); exit 2 };
note("listening on 127.0.0.1:$opt{port}");

sub conn_close {
	my ($c) = @_;
	return if !$c->{sock};
	delete $conn{$c->{fd}};
	$c->{sock}->close;
	$c->{sock} = undef;
	note("connection $c->{peer} closed" . ($c->{unbound} ? ' after unbind' : ''));
	if ($st{session} && $st{session} == $c) {
		$st{session} = undef;
		$st{drops}++ if !$st{scenario_done};
	}
}

# One round of the loop: accept, or read and handle one PDU per readable socket.
sub poll_once {
	my ($timeout) = @_;
	my $sel = IO::Select->new($listener, map { $_->{sock} } values %conn);
	for my $fh ($sel->can_read($timeout)) {
		if (fileno($fh) == fileno($listener)) {
			my $s = $listener->accept or next;
			my $c = { sock => $s, fd => fileno($s), peer => $s->peerhost . ':' . $s->peerport,
				bound => 0, unbound => 0, resp => {} };
			$conn{$c->{fd}} = $c;
			note("connection from $c->{peer}");
			next;
		}
		my $c = $conn{fileno($fh)} or next;
		my $pdu = $c->{sock}->read_pdu;
		if (!$pdu) { conn_close($c); next }
		on_pdu($c, $pdu);
	}
}

# The first true value of $cond->() within $secs seconds, else undef.
sub wait_for {
	my ($cond, $secs) = @_;
	my $end = time + $secs;
	while (1) {
		my $v = $cond->();
		return $v if $v;
		if (time > $guard) { note('scenario took over 300 s, giving up'); exit 1 }
		my $left = $end - time;
		return undef if $left <= 0;
		poll_once($left < 0.5 ? $left : 0.5);
	}
}

# A request on the bound session; its response PDU, or undef after $secs.
sub request {
	my ($cmd, $secs, @fields) = @_;
	my $c = $st{session} or return undef;
	my $seq = $c->{sock}->$cmd(async => 1, @fields);
	return wait_for(sub { delete $c->{resp}{$seq} }, $secs);
}

sub status_name {
	my ($code) = @_;
	my $s = Net::SMPP::status_code->{$code};
	return $s ? $s->{code} : sprintf('0x%x', $code);
}

# ---- the SMSC side of the protocol ------------------------------------------------------
sub on_pdu {
	my ($c, $pdu) = @_;
	my ($cmd, $seq, $s) = ($pdu->{cmd}, $pdu->{seq}, $c->{sock});
	if ($cmd == 0x00000009) { return on_bind($c, $pdu) }
	if ($cmd == 0x00000001 || $cmd == 0x00000002) {
		$st{rejected}++;
		note($pdu->explain_cmd . ' refused: this SMSC takes transceivers only');
		my $m = $cmd == 1 ? 'bind_receiver_resp' : 'bind_transmitter_resp';
		$s->$m(seq => $seq, status => 0x0D, system_id => 'perlsmsc');
		return conn_close($c);
	}
	if ($cmd == 0x00000015) {
		$s->enquire_link_resp(seq => $seq);
		$st{enquires}++;
		return;
	}
	if ($cmd == 0x00000006) {
		$c->{unbound} = 1;
		$st{unbinds}++;
		note('unbind from the ESME, answered');
		$s->unbind_resp(seq => $seq);
		return conn_close($c);
	}
	if ($cmd == 0x00000004) {
		if (!$c->{bound}) {
			push @{$st{protocol}}, 'submit_sm before bind';
			return $s->submit_sm_resp(seq => $seq, status => 0x04, message_id => '');
		}
		return on_submit($c, $pdu);
	}
	if ($cmd == 0x80000000) {
		push @{$st{protocol}}, sprintf('generic_nack from the ESME: %s seq %d',
			status_name($pdu->{status}), $seq);
		return;
	}
	if ($cmd & 0x80000000) {     # a response to one of our requests
		$c->{resp}{$seq} = $pdu;
		return;
	}
	push @{$st{protocol}}, sprintf('unexpected %s from the ESME', $pdu->explain_cmd);
	$s->generic_nack(seq => $seq, status => 0x03);
}

sub on_bind {
	my ($c, $pdu) = @_;
	my $status = 0;
	if ($c->{bound}) {
		$status = 0x05;      # ESME_RALYBND
	} elsif ($pdu->{system_id} ne $opt{'system-id'} || $pdu->{password} ne $opt{password}) {
		$status = 0x0D;
		note("bind refused: system_id " . show($pdu->{system_id}) . ' password ' . show($pdu->{password}));
	} elsif ($st{reject_left} > 0) {
		$st{reject_left}--;
		$status = 0x0D;
		note('bind refused with ESME_RBINDFAIL (scripted, --reject-binds)');
	}
	$c->{sock}->bind_transceiver_resp(seq => $pdu->{seq}, status => $status, system_id => 'perlsmsc');
	if ($status) {
		$st{rejected}++ if $status == 0x0D;
		conn_close($c) if !$c->{bound};
		return;
	}
	$c->{bound} = 1;
	$st{binds}++;
	conn_close($st{session}) if $st{session} && $st{session} != $c;
	$st{session} = $c;
	note(sprintf('bound: system_id %s system_type %s interface_version 0x%x',
		show($pdu->{system_id}), show($pdu->{system_type}), $pdu->{interface_version} // 0));
}

sub on_submit {
	my ($c, $pdu) = @_;
	my $id = 7100000000 + ++$st{next_id};     # decimal
	$c->{sock}->submit_sm_resp(seq => $pdu->{seq}, message_id => "$id");

	my $payload = defined $pdu->{message_payload};
	my $body = $payload ? $pdu->{message_payload} : $pdu->{short_message};
	$body //= '';
	my ($conc, @bad);
	if ($pdu->{esm_class} & 0x40) {
		my $l = length($body) ? ord($body) : 0;
		if ($l + 1 > length $body) {
			push @bad, "UDH length $l beyond the " . length($body) . ' octets';
			$l = length($body) ? length($body) - 1 : 0;
		}
		my $udh = substr($body, 1, $l);
		$body = substr($body, $l + 1);
		while (length($udh) >= 2) {
			my ($iei, $iel) = unpack 'CC', $udh;
			my $v = substr($udh, 2, $iel);
			$udh = length($udh) >= 2 + $iel ? substr($udh, 2 + $iel) : '';
			if ($iei == 0x00 && $iel == 3) {
				my ($r, $t, $q) = unpack 'CCC', $v;
				$conc = { ref => $r, total => $t, seq => $q, how => 'UDH8' };
			} elsif ($iei == 0x08 && $iel == 4) {
				my ($r, $t, $q) = unpack 'nCC', $v;
				$conc = { ref => $r, total => $t, seq => $q, how => 'UDH16' };
			}
		}
	} elsif (defined $pdu->{sar_msg_ref_num}) {
		$conc = { ref => unpack('n', $pdu->{sar_msg_ref_num}),
			total => unpack('C', $pdu->{sar_total_segments} // "\0"),
			seq => unpack('C', $pdu->{sar_segment_seqnum} // "\0"), how => 'SAR' };
	}
	my $text = text_decode($pdu->{data_coding}, $body, \@bad);
	push @{$st{protocol}}, map { "submit_sm $id: $_" } @bad;
	my $part = { id => "$id", text => $text, dc => $pdu->{data_coding}, esm_class => $pdu->{esm_class},
		source => $pdu->{source_addr}, dest => $pdu->{destination_addr},
		ton => $pdu->{dest_addr_ton}, npi => $pdu->{dest_addr_npi}, payload => $payload };
	note(sprintf('submit_sm %s to %s (ton %d npi %d) dc %d esm_class 0x%x%s%s: %s', $id, $part->{dest},
		$part->{ton}, $part->{npi}, $part->{dc}, $part->{esm_class},
		$conc ? " part $conc->{seq}/$conc->{total} ref $conc->{ref} $conc->{how}" : '',
		$payload ? ' message_payload' : '', show($text)));
	return complete([$part], undef) if !$conc;

	if (!($conc->{total} >= 1 && $conc->{seq} >= 1 && $conc->{seq} <= $conc->{total})) {
		push @{$st{protocol}}, "submit_sm $id: part $conc->{seq} of $conc->{total}";
		return;
	}
	my $key = join '|', @$part{qw(dest ton npi)}, @$conc{qw(how ref total)};
	my $p = $st{partial}{$key} //= { parts => [], have => 0 };
	if ($p->{parts}[$conc->{seq} - 1]) {
		push @{$st{protocol}}, "submit_sm $id: part $conc->{seq}/$conc->{total} ref $conc->{ref} twice";
		return;
	}
	$p->{parts}[$conc->{seq} - 1] = $part;
	return if ++$p->{have} < $conc->{total};
	delete $st{partial}{$key};
	complete($p->{parts}, $conc);
}

sub uniq { my %s; grep { !$s{$_}++ } @_ }

sub complete {
	my ($parts, $conc) = @_;
	my $last = $parts->[-1];
	my $mt = { id => $last->{id}, ids => [map { $_->{id} } @$parts],
		text => join('', map { $_->{text} } @$parts), dest => $last->{dest},
		ton => $last->{ton}, npi => $last->{npi}, sources => [uniq(map { $_->{source} } @$parts)],
		dcs => [uniq(map { $_->{dc} } @$parts)], parts => scalar(@$parts),
		how => $conc ? $conc->{how} : 'single' };
	note("reassembled $mt->{parts} parts to $mt->{dest}: " . show($mt->{text})) if @$parts > 1;
	push @{$st{records}}, $mt;
	push @{$st{queues}{$mt->{dest}}}, $mt;
}

sub take_mt { my $q = $st{queues}{$_[0]}; return $q && @$q ? shift @$q : undef }
sub queued { map { @$_ } values %{$st{queues}} }

# deliver_sm until it is answered ESME_ROK (a real SMSC redelivers otherwise).
sub deliver {
	my ($secs, %f) = @_;
	my $last = 'no deliver_sm_resp';
	for my $attempt (1 .. 5) {
		return 'not bound' if !wait_for(sub { $st{session} }, $secs);
		my $resp = request('deliver_sm', $secs, %f);
		return undef if $resp && $resp->{status} == 0;
		$last = $resp ? 'deliver_sm_resp ' . status_name($resp->{status})
		    : "no deliver_sm_resp within $secs s";
		note("deliver_sm attempt $attempt: $last; redelivering");
		wait_for(sub { 0 }, 1);
	}
	return $last;
}

# "{NAME}" replaced by a captured value (a regex quantifier like {9,} is left alone)
sub subst {
	my ($t) = @_;
	$t =~ s/\{([A-Z_][A-Z0-9_]*)\}/exists $st{vars}{$1} ? $st{vars}{$1} : "{$1}"/ge;
	return $t;
}

sub mo_fields {
	my ($mo) = @_;
	return (source_addr_ton => $mo->{ton} // 1, source_addr_npi => $mo->{npi} // 1,
		source_addr => $mo->{from}, dest_addr_ton => 0, dest_addr_npi => 1,
		destination_addr => $opt{'esme-addr'} || '5555', esm_class => 0,
		data_coding => $mo->{data_coding} // 0);
}

# Splits text into parts of at most $max GSM septets (an extension character takes two
# and stays with its escape) or UCS-2 units (a surrogate pair stays whole).
sub split_text {
	my ($text, $dc, $max) = @_;
	my (@parts, $cur, $n);
	($cur, $n) = ('', 0);
	for my $ch (split //, $text) {
		my $w = $dc == 8 ? (ord($ch) > 0xFFFF ? 2 : 1) : (exists $GSM_EXT_ENC{$ch} ? 2 : 1);
		if ($n + $w > $max && $cur ne '') { push @parts, $cur; ($cur, $n) = ('', 0) }
		$cur .= $ch;
		$n += $w;
	}
	push @parts, $cur if $cur ne '' || !@parts;
	return @parts;
}

# One MO, as one deliver_sm or (with "concat") UDH parts; undef, or what went wrong.
sub deliver_mo {
	my ($mo, $secs) = @_;
	my %f = mo_fields($mo);
	my $text = subst($mo->{text});
	if (!$mo->{concat}) {
		my $sm = text_encode($f{data_coding}, $text) // return 'MO text does not fit GSM 03.38';
		return deliver($secs, %f, short_message => $sm);
	}
	my $max = $mo->{concat} =~ /^\d+$/ && $mo->{concat} > 1 ? $mo->{concat} : $f{data_coding} == 8 ? 67 : 153;
	my @texts = split_text($text, $f{data_coding}, $max);
	my $ref = $st{mo_ref}++ & 0xFF;
	my @order = 0 .. $#texts;
	@order = reverse @order if ($mo->{order} // '') eq 'reverse';
	note("MO from $mo->{from}: " . scalar(@texts) . " UDH parts, ref $ref, sent in order "
	    . join(',', map { $_ + 1 } @order));
	for my $i (@order) {
		my $sm = text_encode($f{data_coding}, $texts[$i]) // return 'MO text does not fit GSM 03.38';
		my $err = deliver($secs, %f, esm_class => 0x40,
			short_message => pack('C6', 5, 0x00, 3, $ref, scalar(@texts), $i + 1) . $sm);
		return 'part ' . ($i + 1) . '/' . scalar(@texts) . ": $err" if $err;
	}
	return undef;
}

# What is wrong with a reply to the step's MO (undef when nothing).
sub check_reply {
	my ($step, $mt) = @_;
	my %mo = mo_fields($step->{mo});
	my @bad;
	my $expect = subst($step->{expect});
	push @bad, 'text ' . show($mt->{text}) . " !~ /$expect/" if $mt->{text} !~ /$expect/s;
	my %lines = map { $_ => 1 } split /\n/, $mt->{text};
	push @bad, map { 'no line ' . show($_) } grep { !$lines{$_} } @{$step->{lines} // []};
	for my $k (sort keys %{$step->{capture} // {}}) {
		my $re = $step->{capture}{$k};
		if ($mt->{text} =~ /$re/s && defined $1) { $st{vars}{$k} = $1 }
		else { push @bad, "nothing to capture as $k with /$re/" }
	}
	push @bad, "to TON/NPI $mt->{ton}/$mt->{npi}, the MO came from $mo{source_addr_ton}/$mo{source_addr_npi}"
	    if $mt->{ton} != $mo{source_addr_ton} || $mt->{npi} != $mo{source_addr_npi};
	push @bad, 'source_addr ' . show(join ',', @{$mt->{sources}}) . ', expected ' . show($opt{'esme-addr'})
	    if $opt{'esme-addr'} && (@{$mt->{sources}} != 1 || $mt->{sources}[0] ne $opt{'esme-addr'});
	push @bad, "$mt->{parts} part(s), expected at least $step->{min_parts}"
	    if $step->{min_parts} && $mt->{parts} < $step->{min_parts};
	push @bad, 'parts with different data_coding ' . join(',', @{$mt->{dcs}}) if @{$mt->{dcs}} != 1;
	push @bad, "data_coding $mt->{dcs}[0], expected $step->{reply_dc}"
	    if defined $step->{reply_dc} && $mt->{dcs}[0] != $step->{reply_dc};
	return @bad ? join("\n", @bad) : undef;
}

# ---- the steps ------------------------------------------------------------------------
sub run_step {
	my ($step) = @_;
	my $secs = $step->{timeout} || 10;
	my $name = $step->{name} // $json->encode($step);
	if (defined $step->{bind}) {
		my $want = $opt{'reject-binds'};
		my $ok = wait_for(sub { $st{session} && $st{rejected} >= $want }, $step->{bind});
		return result($name, $ok,
			"bound $st{binds} time(s), refused $st{rejected} of $want scripted refusal(s) in $step->{bind} s");
	}
	if ($step->{mo}) {
		my $err = deliver_mo($step->{mo}, $secs);
		return result($name, 0, 'MO ' . show($step->{mo}{text}) . ": $err") if $err;
		my $from = $step->{mo}{from};
		if (defined $step->{expect_none}) {
			my $mt = wait_for(sub { take_mt($from) }, $step->{expect_none});
			return result($name, !$mt, $mt && 'unexpected reply ' . show($mt->{text}));
		}
		my $mt = wait_for(sub { take_mt($from) }, $secs)
		    or return result($name, 0, "no reply to $from within $secs s");
		my $bad = check_reply($step, $mt);
		return result($name, !$bad, $bad);
	}
	if (defined $step->{dlr}) {
		my $match = defined $step->{match} ? subst($step->{match}) : undef;
		my ($mt) = grep { $_->{dest} eq $step->{dlr} && (!defined $match || $_->{text} =~ /$match/s) }
		    reverse @{$st{records}};
		return result($name, 0, "no reply to $step->{dlr} to send a receipt for") if !$mt;
		note("receipts for @{$mt->{ids}} (" . show($mt->{text}) . ')');
		my $d = strftime('%y%m%d%H%M', localtime);
		for my $id (@{$mt->{ids}}) {
			my $text = "id:$id sub:001 dlvrd:001 submit date:$d done date:$d stat:DELIVRD err:000 text:"
			    . substr($mt->{text}, 0, 20);
			my $err = deliver($secs,
				source_addr_ton => $mt->{ton}, source_addr_npi => $mt->{npi}, source_addr => $mt->{dest},
				dest_addr_ton => 0, dest_addr_npi => 1, destination_addr => $opt{'esme-addr'} || '5555',
				esm_class => 0x04, data_coding => 0, short_message => gsm_encode($text, 1),
				receipted_message_id => "$id\0", message_state => pack('C', 2));   # DELIVERED
			return result($name, 0, "receipt for $id: $err") if $err;
		}
		my $extra = wait_for(sub { (queued())[0] }, $step->{expect_none} || 3);
		return result($name, !$extra,
			$extra && "the receipt was answered with an SMS to $extra->{dest}: " . show($extra->{text}));
	}
	if (defined $step->{enquire_link}) {
		my $resp = request('enquire_link', $step->{enquire_link});
		return result($name, $resp && $resp->{status} == 0,
			$resp ? 'enquire_link_resp ' . status_name($resp->{status}) : 'no enquire_link_resp');
	}
	if (defined $step->{wait_enquire_link}) {
		my $before = $st{enquires};
		my $ok = wait_for(sub { $st{enquires} > $before }, $step->{wait_enquire_link});
		return result($name, $ok, "no enquire_link from the ESME within $step->{wait_enquire_link} s");
	}
	return result($name, 0, 'unknown step');
}

for my $i (0 .. $#steps) {
	my $good = run_step($steps[$i]);
	if (!$good && defined $steps[$i]{bind}) {
		# nothing else can work; report the rest so the count stays the same
		result($_->{name}, 0, 'skipped: the ESME never bound') for @steps[$i + 1 .. $#steps];
		last;
	}
}
my @left = queued();
result('no reply left unexpected', !@left, join("\n", map { "to $_->{dest}: " . show($_->{text}) } @left));
result('no unfinished concatenation', !%{$st{partial}}, scalar(keys %{$st{partial}}) . ' partial message(s)');
result('one bind for the whole scenario, no link drop', $st{binds} == 1 && $st{drops} == 0,
	"$st{binds} binds, $st{drops} drops");
result('no protocol errors', !@{$st{protocol}}, join("\n", @{$st{protocol}}));
if ($opt{record}) {
	open my $f, '>:encoding(UTF-8)', $opt{record} or die "$opt{record}: $!\n";
	print $f "$_->{id}\t$_->{dest}\t$_->{parts}\t" . show($_->{text}) . "\n" for @{$st{records}};
	close $f;
}
$st{scenario_done} = 1;
note('scenario done');

# now the ESME is stopped by whoever runs us: it should unbind, then close
$guard = time + $opt{linger} + 5;
my $closed = wait_for(sub { !$st{session} }, $opt{linger});
result('the ESME unbinds before it disconnects', $closed && $st{unbinds} > 0,
	$closed ? 'closed without unbind' : "still connected after $opt{linger} s");
exit($failures ? 1 : 0);

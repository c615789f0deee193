/*
 * rules.c: the one table of diagnosis rules (DESIGN.md section 4).
 *
 * Responsible for everything said about a diagnosis code that does not
 * depend on the connection: its name in the record, its usual severity, what
 * it means, its summary template, the hints that rank the likely causes and
 * say what to run to confirm, the messages the OpenSSH client prints, and
 * where docs/diagnoses.md explains it. --explain, the documentation check
 * and the unit tests read this table. Not responsible for deciding when a
 * code applies (diagnose.c, hostkey.c) or for writing it (output/).
 */
#include <stddef.h>
#include <string.h>

#include "rules.h"
#include "verdict.h"

static const char mtu_hint[] =
    "Large packets are lost on the path while small ones pass, and no ICMP 'fragmentation "
    "needed' reaches the sender: an MTU black hole (a tunnel or VPN with a smaller MTU, and a "
    "firewall dropping ICMP). Confirm with `ping -M do -s 1400 HOST` from the sender, then "
    "allow ICMP type 3 code 4 (ICMPv6 type 2), lower the interface MTU, or clamp the MSS on "
    "the router.";

static const char stall_symptom[] = "ssh hangs after 'expecting SSH2_MSG_KEX_ECDH_REPLY' (ssh "
                                    "-v), then 'Connection timed out' or 'Connection closed'";

static const struct diag_rule rules[DIAG_COUNT] = {
    [DIAG_TCP_NO_ANSWER] =
        {
            .code = "tcp_no_answer",
            .severity = SEV_ERROR,
            .title = "SYNs never answered",
            .summary = SUM_TCP_NO_ANSWER,
            .hints = {"A firewall or security group on the path or on the server drops the SYNs "
                      "(an iptables/nftables DROP rule, fail2ban with a DROP action), the host is "
                      "down, or the address is wrong. Check the server's rules (`iptables -L -n "
                      "-v`, `nft list ruleset`, `fail2ban-client status sshd`) and capture on the "
                      "server to see whether the SYNs arrive."},
            .symptoms = {"ssh: connect to host HOST port N: Connection timed out"},
        },
    [DIAG_TCP_REFUSED] =
        {
            .code = "tcp_refused",
            .severity = SEV_ERROR,
            .title = "SYN answered by a reset",
            .summary = SUM_TCP_REFUSED,
            .hints = {"Nothing listens on that address and port (sshd stopped, another Port or "
                      "ListenAddress), or a firewall rejects with a TCP reset (REJECT "
                      "--reject-with tcp-reset, fail2ban). On the server: `systemctl status ssh`, "
                      "`ss -ltnp | grep sshd`, `sshd -T | grep -Ei '^(port|listenaddress)'`, "
                      "`iptables -L -n -v | grep REJECT`."},
            .symptoms = {"ssh: connect to host HOST port N: Connection refused"},
        },
    [DIAG_ICMP_UNREACHABLE] =
        {
            .code = "icmp_unreachable",
            .severity = SEV_ERROR,
            .title = "ICMP destination unreachable quoting the connection",
            .summary = SUM_ICMP_UNREACHABLE,
            .hints =
                {"A router or the host reports the destination unreachable: no route, the "
                 "host is down, or a firewall rejects with an ICMP error (iptables REJECT's "
                 "default). Check routes (`ip route get ADDRESS`) and the firewall on the path "
                 "and the server."},
            .symptoms = {"ssh: connect to host HOST port N: No route to host",
                         "ssh: connect to host HOST port N: Connection refused"},
        },
    [DIAG_CLOSED_BEFORE_SERVER_BANNER] =
        {
            .code = "closed_before_server_banner",
            .severity = SEV_ERROR,
            .title = "closed before the server's identification line",
            .summary = SUM_CLOSED_BEFORE_SERVER_BANNER,
            .hints =
                {
                    [HINT_CBSB_DROPPED] =
                        "Most likely sshd dropped the connection before its banner: MaxStartups "
                        "or PerSourcePenalties (`sshd -T | grep -iE "
                        "'maxstartups|persourcepenalt'`), TCP wrappers (`grep -i sshd "
                        "/etc/hosts.deny`), a fail2ban or firewall rule, or an overloaded sshd "
                        "(`journalctl -u ssh`). A proxy or load balancer in front of sshd that "
                        "closes when its backend is down looks the same.",
                    [HINT_CBSB_MAXSTARTUPS] =
                        "sshd refused the connection because too many were still "
                        "unauthenticated (MaxStartups, default 10:30:100). Check `sshd -T | grep "
                        "-i maxstartups` and `journalctl -u ssh | grep -i maxstartups`; raise "
                        "MaxStartups or find who holds connections open (scanners, stuck "
                        "clients).",
                    [HINT_CBSB_PENALTY] =
                        "OpenSSH 9.8 or later refused the client: PerSourcePenalties (earlier "
                        "failures or crashes from this address) or MaxStartups. Check "
                        "`journalctl -u ssh | grep -iE 'penalt|maxstartups'` and `sshd -T | "
                        "grep -iE 'persourcepenalt|maxstartups'`.",
                    [HINT_CBSB_RESET] =
                        "Most likely a firewall or fail2ban rejecting the client with a reset "
                        "(`fail2ban-client status sshd`, `iptables -L -n -v | grep -i reject`), "
                        "then sshd crashing or killed by the OOM killer (`journalctl -u ssh`, "
                        "`dmesg | grep -i oom`).",
                    [HINT_CBSB_CLIENT] =
                        "The client gave up before the server sent its identification line: the "
                        "server is slow to answer (overloaded, reverse DNS lookups with UseDNS, "
                        "a stalled PAM or GSSAPI setup) or the client's ConnectTimeout is short.",
                },
            .symptoms = {"kex_exchange_identification: Connection closed by remote host",
                         "kex_exchange_identification: read: Connection reset by peer",
                         "Connection timed out during banner exchange"},
        },
    [DIAG_BANNER_TIMEOUT] =
        {
            .code = "banner_timeout",
            .severity = SEV_ERROR,
            .title = "the server gave up waiting for the client (LoginGraceTime)",
            .summary = SUM_BANNER_TIMEOUT,
            .hints =
                {"sshd closed after waiting for the client (LoginGraceTime, default 120 s): "
                 "the client stalled mid-handshake, as a stuck proxy, a scanner that opens and "
                 "waits, or a client waiting on a prompt does. Check `sshd -T | grep -i "
                 "logingracetime` and `journalctl -u ssh | grep -i 'timeout before "
                 "authentication'`."},
            .symptoms = {"Connection closed by HOST port N"},
        },
    [DIAG_BANNER_INVALID] =
        {
            .code = "banner_invalid",
            .severity = SEV_ERROR,
            .title = "a first line that is not an SSH identification line",
            .summary = SUM_BANNER_INVALID,
            .hints =
                {
                    [HINT_BANNER_INVALID_CLIENT] =
                        "The client does not speak SSH (a scanner, a health check, a "
                        "misconfigured application pointing at the SSH port). sshd logs it as "
                        "'banner line contains invalid characters' or 'Bad protocol version "
                        "identification'.",
                    [HINT_BANNER_INVALID_SERVER] =
                        "Something other than sshd answers on this port (a web server, a proxy, "
                        "another service), or a front end sends text first. Check what listens "
                        "(`ss -ltnp`) and the client's Port and ProxyCommand.",
                },
            .symptoms = {"kex_exchange_identification: banner line contains invalid characters",
                         "kex_exchange_identification: banner line too long",
                         "kex_exchange_identification: Connection closed by remote host"},
        },
    [DIAG_PROTOCOL_VERSION_MISMATCH] =
        {
            .code = "protocol_version_mismatch",
            .severity = SEV_ERROR,
            .title = "SSH-1 against SSH-2",
            .summary = SUM_PROTOCOL_VERSION_MISMATCH,
            .hints = {"One side only speaks the SSH-1 protocol, removed from OpenSSH in 7.6; "
                      "upgrade it or use a client that still speaks SSH-1 for this legacy device."},
            .symptoms = {"Protocol major versions differ: 2 vs. 1",
                         "Protocol major versions differ: 1 vs. 2"},
        },
    [DIAG_CLOSED_AFTER_BANNER] =
        {
            .code = "closed_after_banner",
            .severity = SEV_ERROR,
            .title = "closed after the identification lines, before KEXINIT",
            .summary = SUM_CLOSED_AFTER_BANNER,
            .hints =
                {
                    [HINT_CAB_SERVER] =
                        "The server closed after the banners, before the key exchange: sshd "
                        "dropped the connection (MaxStartups, PerSourcePenalties, a crash) or a "
                        "middlebox reset it after seeing the identification lines (an IPS rule "
                        "that matches SSH). `journalctl -u ssh` shows the server's reason.",
                    [HINT_CAB_CLIENT] =
                        "The client closed after the banners: it rejected the server's protocol "
                        "or software version, or its process was interrupted.",
                },
            .symptoms = {"Connection closed by HOST port N", "Connection reset by HOST port N"},
        },
    [DIAG_NO_COMMON_ALGORITHM] =
        {
            .code = "no_common_algorithm",
            .severity = SEV_ERROR,
            .title = "no algorithm in common in one category",
            .summary = SUM_NO_COMMON_ALGORITHM,
            .hints = {"The client and the server share no algorithm in this category. Enable "
                      "one on either side: for an old server, the client can add it for that host "
                      "only (e.g. `ssh -o KexAlgorithms=+diffie-hellman-group14-sha1` or "
                      "`HostKeyAlgorithms=+ssh-rsa` in a Host block); on the server see `sshd -T | "
                      "grep -iE 'kexalgorithms|hostkeyalgorithms|ciphers|macs'`."},
            .symptoms =
                {"Unable to negotiate with HOST port N: no matching key exchange method "
                 "found. Their offer: ...",
                 "Unable to negotiate with HOST port N: no matching host key type found. "
                 "Their offer: ...",
                 "Unable to negotiate with HOST port N: no matching cipher found. Their "
                 "offer: ...",
                 "Unable to negotiate with HOST port N: no matching MAC found. Their offer: "
                 "...",
                 "Unable to negotiate with HOST port N: no matching compression method "
                 "found. Their offer: ..."},
        },
    [DIAG_WEAK_ALGORITHM] =
        {
            .code = "weak_algorithm",
            .severity = SEV_WARNING,
            .title = "a negotiated algorithm the policy rates weak",
            .summary = SUM_WEAK_ALGORITHM,
            .hints = {"Remove it from the server's (or client's) configuration; OpenSSH's "
                      "defaults no longer offer it. `sshd -T` shows what the server allows; "
                      "ssh-audit rates a server's whole offer."},
        },
    [DIAG_NON_PQ_KEX] =
        {
            .code = "non_pq_kex",
            .severity = SEV_INFO,
            .title = "a key exchange that is not post-quantum",
            .summary = SUM_NON_PQ_KEX,
            .hints = {"A recorded session can be decrypted later by whoever gets a large quantum "
                      "computer. OpenSSH 9.0+ offers sntrup761x25519-sha512 and 9.9+ "
                      "mlkem768x25519-sha256 by default; upgrade the older side or prefer them in "
                      "KexAlgorithms."},
        },
    [DIAG_TERRAPIN_EXPOSED] =
        {
            .code = "terrapin_exposed",
            .severity = SEV_WARNING,
            .title = "open to the Terrapin attack (CVE-2023-48795)",
            .summary = SUM_TERRAPIN_EXPOSED,
            .hints =
                {"Upgrade both sides to versions with strict key exchange (OpenSSH 9.6+, "
                 "dropbear 2024.84+, paramiko 3.4+), or disable chacha20-poly1305 and the -etm "
                 "MACs with CBC ciphers (CVE-2023-48795)."},
        },
    [DIAG_CLOSED_DURING_KEX] =
        {
            .code = "closed_during_kex",
            .severity = SEV_ERROR,
            .title = "closed during the key exchange, algorithms agreed",
            .summary = SUM_CLOSED_DURING_KEX,
            .hints = {"The connection ended during the key exchange although both sides agree "
                      "on algorithms: the server failed to sign with its host key (key file "
                      "permissions, an HSM or agent), the client rejected the host key (`ssh -v` "
                      "shows 'Host key verification failed'), or a middlebox cut it. `journalctl "
                      "-u ssh` on the server says which."},
            .symptoms = {"Connection closed by HOST port N", "Connection reset by HOST port N",
                         "Host key verification failed."},
        },
    [DIAG_KEX_STALLED] =
        {
            .code = "kex_stalled",
            .severity = SEV_ERROR,
            .title = "key-exchange data lost and never acknowledged",
            .summary = SUM_STALL_RETRANSMITTED,
            .hints =
                {
                    [HINT_STALL_RETRANSMITTED] =
                        "A key-exchange packet was retransmitted and never acknowledged: packet "
                        "loss or a firewall dropping the flow mid-handshake. Capture at the "
                        "other end to see whether the packets arrive.",
                    [HINT_STALL_HOLE] =
                        "Bytes of the key exchange never reached the receiver while later ones "
                        "did: packet loss on the path or a firewall dropping the flow "
                        "mid-handshake.",
                },
            .symptoms = {stall_symptom},
        },
    [DIAG_MTU_BLACKHOLE_SUSPECTED] =
        {
            .code = "mtu_blackhole_suspected",
            .severity = SEV_ERROR,
            .title = "large key-exchange segments lost while small ones pass",
            .summary = SUM_STALL_RETRANSMITTED,
            .hints = {mtu_hint},
            .symptoms = {stall_symptom},
        },
    [DIAG_ICMP_FRAG_NEEDED] =
        {
            .code = "icmp_frag_needed",
            .severity = SEV_WARNING,
            .title = "ICMP fragmentation needed / packet too big",
            .summary = SUM_ICMP_FRAG_NEEDED,
            .hints =
                {"A link on the path has a smaller MTU than the endpoints assume. Path MTU "
                 "discovery works when these ICMP messages reach the sender; if the connection "
                 "still stalls, lower the MTU or clamp the MSS on the router (`iptables -t "
                 "mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS "
                 "--clamp-mss-to-pmtu`)."},
        },
    [DIAG_IP_FRAGMENTED] =
        {
            .code = "ip_fragmented",
            .severity = SEV_WARNING,
            .title = "the connection's packets arrived as IP fragments",
            .summary = SUM_IP_FRAGMENTED,
            .hints =
                {"Packets of this connection were fragmented on the way, so a sender "
                 "cleared DF or a tunnel fragments; fragments are often dropped by firewalls "
                 "and NAT. Find the link with the small MTU (`tracepath HOST`) and fix the MTU "
                 "or clamp the MSS."},
        },
    [DIAG_DISCONNECT_MESSAGE] =
        {
            .code = "disconnect_message",
            .severity = SEV_ERROR,
            .title = "a clear-text SSH_MSG_DISCONNECT",
            .summary = SUM_DISCONNECT_MESSAGE,
            .hints = {"The description is the peer's own reason; on the server `journalctl -u "
                      "ssh` has more context."},
            .symptoms = {"Received disconnect from HOST port N:CODE: DESCRIPTION"},
        },
    [DIAG_CAPTURE_INCOMPLETE] =
        {
            .code = "capture_incomplete",
            .severity = SEV_WARNING,
            .title = "the capture holds part of the connection",
            .summary = SUM_CAPTURE_INCOMPLETE,
            .hints = {"Capture both directions at one point (a span port may carry one "
                      "direction; asymmetric routing sends the other elsewhere) with a snap length "
                      "that keeps whole packets (-s 0), and start it before the connection."},
        },
    [DIAG_ANALYSIS_LIMITED] =
        {
            .code = "analysis_limited",
            .severity = SEV_WARNING,
            .title = "a limit of kexwatch stopped the analysis of the connection",
            .summary = SUM_ANALYSIS_LIMITED,
            .hints = {"kexwatch stopped following one side because a message was bigger than a "
                      "configured limit (stream_buf, max_packet, namelist_max) or the global "
                      "memory budget (--limit memory) was spent; the outcome is incomplete, not "
                      "failed. Raise the named limit (`kexwatch --list-limits`, docs/limits.md) if "
                      "the sensor has the memory, or read the capture again with a higher one."},
        },
    [DIAG_HOST_KEY_CHANGED] =
        {
            .code = "host_key_changed",
            .severity = SEV_ERROR,
            .title = "a server presents another key of the same type than before",
            .summary = SUM_HOST_KEY_CHANGED,
            .hints = {"If the server's keys were regenerated on purpose (reinstall, planned "
                      "re-key), compare the new fingerprint with `ssh-keygen -lf "
                      "/etc/ssh/ssh_host_*_key.pub` on its console, then accept it with `kexwatch "
                      "hostkeys --state PATH --forget SERVER:PORT`. Otherwise treat it as "
                      "interception until shown otherwise: check who answers for the address "
                      "(ARP/ND entries, routes, NAT and load-balancer pools); a changed banner or "
                      "HASSHServer as well means another machine or a proxy answered."},
            .symptoms = {"WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!"},
        },
    [DIAG_HOST_KEY_SHARED] =
        {
            .code = "host_key_shared",
            .severity = SEV_WARNING,
            .title = "one host key presented by many server addresses",
            .summary = SUM_HOST_KEY_SHARED,
            .hints = {"Machines cloned from one image keep its host keys, and one stolen key then "
                      "impersonates them all: regenerate the keys on each machine (remove "
                      "/etc/ssh/ssh_host_* and run `ssh-keygen -A`, or `dpkg-reconfigure "
                      "openssh-server`). If these addresses are one host or one service behind a "
                      "load balancer, raise --hostkey-share-threshold."},
        },
    [DIAG_AUTH_GUESSING] =
        {
            .code = "auth_guessing",
            .severity = SEV_WARNING,
            .title = "many failed logins from one client address",
            .summary = SUM_AUTH_GUESSING,
            .hints = {"Someone at this address is guessing passwords or keys. Confirm in sshd's "
                      "log (`journalctl -u ssh | grep -E 'Failed|Invalid user'`), block or "
                      "rate-limit the address (fail2ban, PerSourcePenalties in OpenSSH 9.8+, "
                      "MaxStartups), and turn off PasswordAuthentication where keys will do."},
        },
    [DIAG_SCANNER_PROBE] =
        {
            .code = "scanner_probe",
            .severity = SEV_INFO,
            .title = "a scanner's probe, not a failed login",
            .summary = SUM_SCANNER_PROBE,
            .hints = {"Nothing failed: the client read what it wanted (the banner, the "
                      "algorithms, the host key, the group sizes) and left, as ssh-audit, nmap's "
                      "ssh scripts, ssh-keyscan, ZGrab or a load balancer's TCP health check do. "
                      "If the source is not one of yours, it is mapping the server: check it "
                      "against your scanners and monitoring, and rate-limit or block it if "
                      "unknown (MaxStartups, PerSourcePenalties, a firewall). sshd logs these "
                      "as 'Connection closed by ... [preauth]' or 'kex_exchange_identification'."},
        },
};

const struct diag_rule *diag_rule(enum diag_code code)
{
	/* An out-of-range code is our bug; answer with a row rather than crash. */
	return &rules[(unsigned)code < DIAG_COUNT ? code : DIAG_CAPTURE_INCOMPLETE];
}

int diag_code_by_name(const char *name)
{
	for (int i = 0; name != NULL && i < DIAG_COUNT; i++)
		if (strcmp(rules[i].code, name) == 0)
			return i;
	return -1;
}

const char *verdict_severity_name(enum verdict_severity s)
{
	static const char *const names[SEV_COUNT] = {"error", "warning", "info"};

	return (unsigned)s < SEV_COUNT ? names[s] : "info";
}

// originalDst(fd) -> { address, port, family }: the destination a connection had before iptables
// REDIRECT (nat table) rewrote it, read from conntrack with getsockopt. Linux only.
//
// IPv4 (also an IPv4 client on a dual-stack IPv6 socket, whose local address is v4-mapped):
// SOL_IP / SO_ORIGINAL_DST into a sockaddr_in. IPv6: SOL_IPV6 / IP6T_SO_ORIGINAL_DST into a
// sockaddr_in6. Both option numbers are 80 (linux/netfilter_ipv4.h, linux/netfilter_ipv6/ip6_tables.h);
// they are spelled out here because the ip6_tables header does not compile on its own in user space.
//
// Errors throw an Error whose `code` is the errno name (ENOENT: no conntrack entry, i.e. the
// connection was not NATed or nf_conntrack is not loaded; EBADF/ENOTSOCK: not a socket; ...).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <node_api.h>

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

static const char* errno_name(int e) {
  switch (e) {
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EINVAL: return "EINVAL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENOTCONN: return "ENOTCONN";
    default: return "EUNKNOWN";
  }
}

static napi_value throw_errno(napi_env env, const char* what, int e) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(e));
  napi_throw_error(env, errno_name(e), msg);
  return NULL;
}

static napi_value make_result(napi_env env, const char* address, unsigned port, const char* family) {
  napi_value out, a, p, f;
  if (napi_create_object(env, &out) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &a) != napi_ok) return NULL;
  if (napi_create_uint32(env, port, &p) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, family, NAPI_AUTO_LENGTH, &f) != napi_ok) return NULL;
  napi_set_named_property(env, out, "address", a);
  napi_set_named_property(env, out, "port", p);
  napi_set_named_property(env, out, "family", f);
  return out;
}

static napi_value original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "originalDst(fd): fd must be a number");
    return NULL;
  }

  // The socket's own family decides the option level; a v4-mapped local address means an IPv4 flow.
  struct sockaddr_storage local;
  socklen_t len = sizeof local;
  memset(&local, 0, sizeof local);
  if (getsockname(fd, (struct sockaddr*)&local, &len) != 0) return throw_errno(env, "getsockname", errno);
  int v4 = local.ss_family == AF_INET ||
           (local.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6*)&local)->sin6_addr));
  if (!v4 && local.ss_family != AF_INET6) return throw_errno(env, "originalDst: not a TCP/IP socket", EAFNOSUPPORT);

  char text[INET6_ADDRSTRLEN];
  if (v4) {
    struct sockaddr_in dst;
    socklen_t dlen = sizeof dst;
    memset(&dst, 0, sizeof dst);
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &dlen) != 0) return throw_errno(env, "getsockopt(SO_ORIGINAL_DST)", errno);
    if (!inet_ntop(AF_INET, &dst.sin_addr, text, sizeof text)) return throw_errno(env, "inet_ntop", errno);
    return make_result(env, text, ntohs(dst.sin_port), "IPv4");
  }
  struct sockaddr_in6 dst6;
  socklen_t dlen6 = sizeof dst6;
  memset(&dst6, 0, sizeof dst6);
  if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &dst6, &dlen6) != 0) return throw_errno(env, "getsockopt(IP6T_SO_ORIGINAL_DST)", errno);
  if (!inet_ntop(AF_INET6, &dst6.sin6_addr, text, sizeof text)) return throw_errno(env, "inet_ntop", errno);
  return make_result(env, text, ntohs(dst6.sin6_port), "IPv6");
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "originalDst", NAPI_AUTO_LENGTH, original_dst, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "originalDst", fn) != napi_ok) return NULL;
  return exports;
}

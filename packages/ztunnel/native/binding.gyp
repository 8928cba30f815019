# The optional native addon of the Node ztunnel: reads the original destination of a connection that
# iptables REDIRECT sent to the capture listener (SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST). Linux only.
# Built by scripts/build-native.mjs; the ztunnel runs without it (no transparent capture then).
{
  "targets": [
    {
      "target_name": "waystation_capture",
      "sources": ["src/original_dst.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}

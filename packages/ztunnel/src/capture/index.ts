// Transparent capture for the Node ztunnel (Linux): iptables REDIRECT to the capture listener,
// SO_ORIGINAL_DST through the optional native addon. See README.md in this folder.
export { CAPTURE_HOST, CAPTURE_PORT, captureListener } from "./captureListener.js";
export { CAPTURE_CHAIN, ZTUNNEL_MARK, captureRules, familiesFor, rulesScript } from "./iptables.js";
export type { CaptureRules, CaptureRulesOptions, RuleCommand } from "./iptables.js";
export { ADDON_PATH, captureSupport, readOriginalDst, socketFd } from "./originalDst.js";
export type { CaptureSupport, OriginalDstResult } from "./originalDst.js";

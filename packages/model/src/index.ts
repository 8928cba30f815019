export * from "./types.js";
export * from "./options.js";
export * from "./names.js";
export * from "./labels.js";
export { buildModel } from "./build.js";
export { describeBinding, resolveBinding } from "./binding.js";
export { policyKinds } from "./attachment.js";
export { explainService, explainWorkload } from "./explain.js";
export { isHttp, kubePortProtocol } from "./protocol.js";

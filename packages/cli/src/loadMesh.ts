/** Shared by commands that work on a config directory: load it, build the model, report problems. */
import { formatProblem } from "@waystation/api";
import { FileSource, type MeshSnapshot } from "@waystation/controller";
import { buildModel, type MeshModel } from "@waystation/model";

export interface LoadedMesh {
  snapshot: MeshSnapshot;
  model: MeshModel;
}

/** Loads manifests; problems go to `err` (one line each) so stdout stays machine-readable. */
export async function loadMesh(paths: string[], recursive: boolean, err: NodeJS.WritableStream): Promise<LoadedMesh> {
  const snapshot = await new FileSource(paths, { recursive }).load();
  for (const p of snapshot.problems) err.write(`${formatProblem(p)}\n`);
  return { snapshot, model: buildModel(snapshot.resources) };
}

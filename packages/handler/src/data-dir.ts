import fs from 'node:fs';
import path from 'node:path';

/**
 * Finds the directory of data files a function ships with. `configuredDir` (for example
 * from a DATA_DIR variable) wins when set. Otherwise `dirName` is looked up beside the
 * running module, where a bundle gets it when `data/` is copied next to the bundled file,
 * and then one level up, where it is when the source runs from `src/` under tsx.
 *
 * `moduleDir` is the running module's `__dirname`, which exists in CommonJS only, so an
 * ES module bundle must pass `configuredDir`. Throws when no directory is found.
 */
export function resolveDataDir(options: {
  moduleDir: string | undefined;
  configuredDir?: string;
  /** Name of the directory to look for. Default `data`. */
  dirName?: string;
}): string {
  const { moduleDir, configuredDir } = options;
  if (configuredDir !== undefined && configuredDir !== '') {
    if (!isDirectory(configuredDir)) {
      throw new Error(`Data directory "${configuredDir}" does not exist or is not a directory.`);
    }
    return path.resolve(configuredDir);
  }

  const dirName = options.dirName ?? 'data';
  const candidates =
    moduleDir === undefined
      ? []
      : [path.join(moduleDir, dirName), path.join(moduleDir, '..', dirName)];
  const found = candidates.find(isDirectory);
  if (found === undefined) {
    const looked =
      candidates.length > 0 ? candidates.join(' and ') : 'nowhere (no module directory)';
    throw new Error(
      `No ${dirName}/ directory found; looked in ${looked}. ` +
        `Ship ${dirName}/ next to the bundled handler or configure the directory explicitly.`,
    );
  }
  return path.resolve(found);
}

function isDirectory(candidate: string): boolean {
  try {
    return fs.statSync(candidate).isDirectory();
  } catch {
    return false;
  }
}

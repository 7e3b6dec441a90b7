#!/usr/bin/env node
// Writes the build copy of this package that jsii compiles: cdk/build/ (gitignored).
//
//   node scripts/stage.js <build dir> <repository URL>
//
// jsii needs package.json's "repository", and the Go target a module path, which is where the
// repository is hosted. This checkout cannot know where it will be published, so the committed
// package.json has neither: `make cdk` passes CDK_REPOSITORY_URL (else the checkout's
// remote.origin.url, else the checkout itself as a file:// URL, which is fine for local builds
// and tests but not for publishing) and this script writes them into the copy.
'use strict';
const fs = require('fs');
const path = require('path');

const [buildDir, repositoryUrl] = process.argv.slice(2);
if (!buildDir || !repositoryUrl) {
  console.error('usage: node scripts/stage.js <build dir> <repository URL>');
  process.exit(2);
}
const here = path.resolve(__dirname, '..');
const build = path.resolve(buildDir);

/** `github.com/owner/name` from https://github.com/owner/name.git or git@github.com:owner/name.git. */
function goModulePath(url) {
  const match = /^(?:git\+)?(?:https?:\/\/|ssh:\/\/)?(?:[^@/]+@)?([^/:]+)[:/](.+?)(?:\.git)?\/?$/.exec(url);
  return match && !url.startsWith('file:') ? `${match[1]}/${match[2]}` : undefined;
}

const pkg = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));
pkg.repository = { type: 'git', url: repositoryUrl, directory: 'cdk' };
const modulePath = goModulePath(repositoryUrl);
if (modulePath) {
  pkg.jsii.targets.go.moduleName = modulePath;
} else {
  // A Go module path is where the code is hosted: without a hosted repository, no Go target.
  delete pkg.jsii.targets.go;
  console.error(`stage: ${repositoryUrl} is not a hosted repository: no Go target in this build`);
}

fs.mkdirSync(build, { recursive: true });
for (const folder of ['lib', 'test']) {
  fs.rmSync(path.join(build, folder), { recursive: true, force: true });
  fs.cpSync(path.join(here, folder), path.join(build, folder), {
    recursive: true,
    filter: (source) => fs.statSync(source).isDirectory() || source.endsWith('.ts'),
  });
}
fs.writeFileSync(path.join(build, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
fs.copyFileSync(path.join(here, 'README.md'), path.join(build, 'README.md'));
fs.copyFileSync(path.join(here, '..', 'LICENSE'), path.join(build, 'LICENSE'));
const modules = path.join(build, 'node_modules');
if (!fs.existsSync(modules)) {
  fs.symlinkSync(path.relative(build, path.join(here, 'node_modules')), modules, 'dir');
}

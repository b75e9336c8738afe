// Kept in step with package.json "version" (a unit test checks).
export const TIDEMARK_VERSION = '0.1.0';

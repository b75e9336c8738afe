export * from './activityOutcome';
export * from './instanceIds';
export * from './mapJob';
export * from './types';
export * from './enableRules';
export * from './durableJobs';

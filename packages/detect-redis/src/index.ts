/**
 * `@authtrail/detect-redis`: detector state shared through Redis, so that every instance of an app
 * counts into the same windows and an attack spread over instances is seen whole.
 * @packageDocumentation
 */
export {
  redisState,
  type RedisDetectorState,
  type RedisStateOptions,
  type RedisStateStats,
} from './redis-state.js';

/**
 * The one type a command needs to load its library as one object: its modules, imported when it
 * runs (`Object.assign({}, ...modules)`), typed as having the exports of each.
 */
export type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void
  ? I
  : never

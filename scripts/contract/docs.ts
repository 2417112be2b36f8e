/**
 * The lists of docs/architecture.md that name what the contract declares (routes, the host's
 * events, the trainer's events), rewritten between their markers from electron/shared:
 *
 *   <!-- contract:routes -->
 *   ...
 *   <!-- /contract:routes -->
 */
import { events } from '../../electron/shared/events'
import { methods, methodTable } from '../../electron/shared/methods'
import { finalEventTypes, trainerEventTypes } from '../../electron/shared/protocol'
import { routeNames } from '../../electron/shared/routes'

const code = (name: string): string => `\`${name}\``

/** Names grouped by what comes before their first dot: "- `jobs`: `jobs.create`, `jobs.list`". */
function grouped(names: readonly string[]): string {
  const groups = new Map<string, string[]>()
  for (const name of names) {
    const group = name.split('.')[0]!
    groups.set(group, [...(groups.get(group) ?? []), name])
  }
  return [...groups].map(([group, members]) => `- ${code(group)}: ${members.map(code).join(', ')}`).join('\n')
}

/** Each list the page shows, by marker name. */
export function docLists(): Record<string, string> {
  const ongoing = trainerEventTypes.filter((type) => !(finalEventTypes as readonly string[]).includes(type))
  return {
    routes: grouped(routeNames),
    events: grouped(Object.keys(events)),
    'trainer-events': `Types: ${ongoing.map(code).join(', ')}, and one final event: ${finalEventTypes.map(code).join(', ')}.`,
    methods: methods
      .map((name) => {
        const entry = methodTable[name]
        const section = entry.settings === null ? 'no settings section' : `settings ${code(name)}`
        return `- ${code(name)}: ${entry.label}; trains on ${entry.formats.map(code).join(', ')}; ${entry.reference ? 'with' : 'no'} reference model; ${section}`
      })
      .join('\n'),
  }
}

/** `text` with every marked list replaced by what the contract declares now; throws naming a marker that is missing. */
export function withDocLists(text: string, file: string): string {
  let result = text
  for (const [name, list] of Object.entries(docLists())) {
    const pattern = new RegExp(`(<!-- contract:${name} -->\\n)[\\s\\S]*?(<!-- /contract:${name} -->)`)
    if (!pattern.test(result))
      throw new Error(`${file}: no <!-- contract:${name} --> ... <!-- /contract:${name} --> block to write the list into`)
    result = result.replace(pattern, (_whole, open: string, close: string) => `${open}${list}\n${close}`)
  }
  return result
}

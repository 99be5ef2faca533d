/** Renders a bad value for an error message: short, so a 5,000-character name is not echoed whole. */
export function describeValue(value: unknown, maxLength = 80): string {
  let text: string
  if (typeof value === 'function') text = 'a function'
  else if (typeof value === 'bigint') text = `${value}n`
  else if (value === undefined) text = 'undefined'
  // JSON would render NaN and ±Infinity as null: the message must show the value that came.
  else if (typeof value === 'number' || typeof value === 'symbol') text = String(value)
  else {
    try {
      text = JSON.stringify(value) ?? String(value)
    } catch {
      text = Object.prototype.toString.call(value)
    }
  }
  return text.length > maxLength ? `${text.slice(0, maxLength - 3)}...` : text
}

// The server's command policy (the `policy` method), shown before Run can fail: whether shell
// strings are accepted and which executables are allowed, and a check of a command against it.

export class Policy {
  constructor(note, argvBox) {
    this.note = note;
    this.argvBox = argvBox;
    this.policy = null;
  }

  apply(policy) {
    this.policy = policy;
    const parts = [];
    if (!policy.shell) {
      // No shell strings here: the words are always run as argv.
      this.argvBox.checked = true;
      this.argvBox.disabled = true;
      parts.push('this server takes no shell strings: the words are run as argv');
    } else {
      this.argvBox.disabled = false;
    }
    if (policy.allowed_executables !== null) {
      parts.push(`allowed: ${policy.allowed_executables.join(', ') || 'nothing'}`);
    }
    this.note.textContent = parts.join(' · ');
  }

  /** Why the server would refuse `words` (argv) or a shell string, or null. */
  refusal(line, words, argvMode) {
    const p = this.policy;
    if (p === null) return null;
    if (!argvMode && !p.shell) return 'this server takes no shell strings';
    const allowed = p.allowed_executables;
    const program = argvMode ? words[0] ?? '' : line.trim().split(/\s+/)[0] ?? '';
    if (allowed !== null) {
      const base = program.split('/').pop();
      if (!allowed.includes(program) && !allowed.includes(base)) {
        return `${program || 'an empty command'} is not allowed here (allowed: ${allowed.join(', ') || 'nothing'})`;
      }
    }
    return null;
  }
}

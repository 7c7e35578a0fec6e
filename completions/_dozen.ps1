
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'dozen' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'dozen'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'dozen' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate the Procfile, env files and dozen.toml, and show what they define')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show and edit the config of an environment (values redacted unless --reveal)')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Check the app against the twelve factors: located, masked, suppressible findings')
            [CompletionResult]::new('build', 'build', [CompletionResultType]::ParameterValue, 'Turn the source into an immutable build (the stored one when nothing changed)')
            [CompletionResult]::new('release', 'release', [CompletionResultType]::ParameterValue, 'Build (or reuse a build) and snapshot the config as a new numbered release')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Make a new release from an earlier one''s build and config')
            [CompletionResult]::new('releases', 'releases', [CompletionResultType]::ParameterValue, 'List releases, or show one (config keys with digests, the diff against the previous)')
            [CompletionResult]::new('gc', 'gc', [CompletionResultType]::ParameterValue, 'Remove builds that no recent release uses, and the files only they held')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'The activity log: builds, releases, rollbacks, one-off commands')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a one-off admin command in the current release (--dev: in the working tree)')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run the process formation of the current release (--dev: of the working tree)')
            [CompletionResult]::new('scale', 'scale', [CompletionResultType]::ParameterValue, 'Change the formation of the running `dozen run` live, and store it for the next run')
            [CompletionResult]::new('ps', 'ps', [CompletionResultType]::ParameterValue, 'The instances of the running `dozen run`: state, pid, port, uptime, restarts, health')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a starting dozen.toml and Procfile for the app in this directory')
            [CompletionResult]::new('__generate', '__generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (for packagers and dozen''s own tests)')
            [CompletionResult]::new('__nursery', '__nursery', [CompletionResultType]::ParameterValue, 'The guardian process of `dozen run` (internal)')
            break
        }
        'dozen;check' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the result as JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;config' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print as JSON')
            [CompletionResult]::new('--reveal', '--reveal', [CompletionResultType]::ParameterName, 'Show values instead of redacting them')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print one key''s value')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set keys in the environment''s own env file, keeping its comments and order')
            [CompletionResult]::new('unset', 'unset', [CompletionResultType]::ParameterValue, 'Remove keys from the environment''s own env file')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Compare two environments: keys only in one, keys whose values differ (by digest)')
            break
        }
        'dozen;config;get' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print as JSON')
            [CompletionResult]::new('--reveal', '--reveal', [CompletionResultType]::ParameterName, 'Show values instead of redacting them')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;config;set' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print as JSON')
            [CompletionResult]::new('--reveal', '--reveal', [CompletionResultType]::ParameterName, 'Show values instead of redacting them')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;config;unset' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print as JSON')
            [CompletionResult]::new('--reveal', '--reveal', [CompletionResultType]::ParameterName, 'Show values instead of redacting them')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;config;diff' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--exit-code', '--exit-code', [CompletionResultType]::ParameterName, 'Exit with 1 when the environments differ')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print as JSON')
            [CompletionResult]::new('--reveal', '--reveal', [CompletionResultType]::ParameterName, 'Show values instead of redacting them')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;audit' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print the report')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'The least severe finding that makes the exit status 1')
            [CompletionResult]::new('--baseline', '--baseline', [CompletionResultType]::ParameterName, 'Leave out the findings this baseline file accepts')
            [CompletionResult]::new('--write-baseline', '--write-baseline', [CompletionResultType]::ParameterName, 'Write the current findings to FILE as a baseline (rule, path, evidence hash; no line numbers), then exit 0')
            [CompletionResult]::new('--max-file-size', '--max-file-size', [CompletionResultType]::ParameterName, 'Files larger than this are not read (bytes; K, M and G suffixes allowed)')
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('rules', 'rules', [CompletionResultType]::ParameterValue, 'List every rule: id, factor, default severity, what it finds')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Explain a rule: its factor, why it matters, how to fix it')
            break
        }
        'dozen;audit;rules' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the rules as JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;audit;explain' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the rule as JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;build' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--require-clean', '--require-clean', [CompletionResultType]::ParameterName, 'Refuse to build a git work tree with uncommitted changes')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the build record as JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash a stored build and report every file changed since it was stored')
            break
        }
        'dozen;build;verify' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the build record as JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;release' {
            [CompletionResult]::new('--build', '--build', [CompletionResultType]::ParameterName, 'Release this stored build (an id or a unique prefix) instead of building')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'A note recorded with the release')
            [CompletionResult]::new('--message', '--message', [CompletionResultType]::ParameterName, 'A note recorded with the release')
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the release as JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;rollback' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the new release as JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;releases' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print as JSON')
            [CompletionResult]::new('--reveal', '--reveal', [CompletionResultType]::ParameterName, 'Show config values instead of digests')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'One release: its config keys with value digests and the diff against the previous one')
            break
        }
        'dozen;releases;show' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print as JSON')
            [CompletionResult]::new('--reveal', '--reveal', [CompletionResultType]::ParameterName, 'Show config values instead of digests')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;gc' {
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'How many of the latest releases keep their builds')
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;history' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print as JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;exec' {
            [CompletionResult]::new('--release', '--release', [CompletionResultType]::ParameterName, 'Run in this release instead of the current one')
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--dev', '--dev', [CompletionResultType]::ParameterName, 'Run in the working tree with the env files applied, not in a release')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;run' {
            [CompletionResult]::new('--release', '--release', [CompletionResultType]::ParameterName, 'Run this release instead of the current one')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Instances per type, as foreman takes it: web=2,worker=1 (all=N for the rest)')
            [CompletionResult]::new('--formation', '--formation', [CompletionResultType]::ParameterName, 'Instances per type, as foreman takes it: web=2,worker=1 (all=N for the rest)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Base port [default: PORT from the env files, else the environment''s, else 5000]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Base port [default: PORT from the env files, else the environment''s, else 5000]')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Time each process gets to stop before SIGKILL (seconds, or 500ms, 10s) [default: 5s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time each process gets to stop before SIGKILL (seconds, or 500ms, 10s) [default: 5s]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, '`text` (`HH:MM:SS web.1 | line`) or `json` (one object per line)')
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--dev', '--dev', [CompletionResultType]::ParameterName, 'Run the working tree with the env files applied, not a release')
            [CompletionResult]::new('--no-timestamps', '--no-timestamps', [CompletionResultType]::ParameterName, 'Leave the time out of each line')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;scale' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the resulting formation as JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;ps' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the formation and instances as JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;init' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;__generate' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Directory to write `completions/` and `man/` into')
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'dozen;__nursery' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The app''s directory [default: the Procfile''s directory with -f, else the current one]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment whose env files apply [default: development]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('--procfile', '--procfile', [CompletionResultType]::ParameterName, 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (`NO_COLOR` turns `auto` off)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}

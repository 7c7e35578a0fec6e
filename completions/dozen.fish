# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_dozen_global_optspecs
    string join \n app= env= f/procfile= e/env-file= q/quiet v/verbose color= h/help V/version
end

function __fish_dozen_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_dozen_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_dozen_using_subcommand
    set -l cmd (__fish_dozen_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c dozen -n "__fish_dozen_needs_command" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_needs_command" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_needs_command" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_needs_command" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_needs_command" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_needs_command" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_needs_command" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dozen -n "__fish_dozen_needs_command" -s V -l version -d 'Print version'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "check" -d 'Validate the Procfile, env files and dozen.toml, and show what they define'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "config" -d 'Show and edit the config of an environment (values redacted unless --reveal)'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "audit" -d 'Check the app against the twelve factors: located, masked, suppressible findings'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "build" -d 'Turn the source into an immutable build (the stored one when nothing changed)'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "release" -d 'Build (or reuse a build) and snapshot the config as a new numbered release'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "rollback" -d 'Make a new release from an earlier one\'s build and config'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "releases" -d 'List releases, or show one (config keys with digests, the diff against the previous)'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "gc" -d 'Remove builds that no recent release uses, and the files only they held'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "history" -d 'The activity log: builds, releases, rollbacks, one-off commands, scheduled jobs'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "exec" -d 'Run a one-off admin command in the current release (--dev: in the working tree)'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "run" -d 'Run the process formation of the current release (--dev: of the working tree)'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "start" -d 'Run the formation of the working tree: foreman\'s and honcho\'s `start`, the same as `dozen run --dev`'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "scale" -d 'Change the formation of the running `dozen run` live, and store it for the next run'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "ps" -d 'The instances of the running `dozen run`: state, pid, port, uptime, restarts, health, CPU, memory'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "top" -d 'A live view of the running `dozen run`: instances, the router\'s rates and latencies, a deploy\'s progress, the selected instance\'s log'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "canary" -d 'A canary release of the running `dozen run`: its live comparison, or promote or abort it'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "logs" -d 'The running formation\'s stream from any terminal: the last lines, then (-f) every new one'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "drains" -d 'Ship the stream off the machine: list, add and remove log drains (syslog, HTTPS)'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "flags" -d 'Feature flags: list them, turn them on and off, roll them out to a percentage of users'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "restart" -d 'Restart instances of the running `dozen run`, one at a time'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "stop" -d 'Stop instances of the running `dozen run` gracefully, until scaled or restarted'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "export" -d 'Write the app as the native files of another engine (systemd, Kubernetes, Compose)'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "image" -d 'Build an OCI image of a release, without Docker: the base\'s layers and the build tree'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "init" -d 'Write a starting dozen.toml and Procfile for the app in this directory'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "__generate" -d 'Write shell completions and man pages (for packagers and dozen\'s own tests)'
complete -c dozen -n "__fish_dozen_needs_command" -f -a "__guard" -d 'The parent of a `dozen exec` command (internal)'
complete -c dozen -n "__fish_dozen_using_subcommand check" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand check" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand check" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand check" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand check" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand check" -l json -d 'Print the result as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand check" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand check" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand check" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand config; and not __fish_seen_subcommand_from get set unset diff" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand config; and not __fish_seen_subcommand_from get set unset diff" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand config; and not __fish_seen_subcommand_from get set unset diff" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand config; and not __fish_seen_subcommand_from get set unset diff" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand config; and not __fish_seen_subcommand_from get set unset diff" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand config; and not __fish_seen_subcommand_from get set unset diff" -l json -d 'Print as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand config; and not __fish_seen_subcommand_from get set unset diff" -l reveal -d 'Show values instead of redacting them'
complete -c dozen -n "__fish_dozen_using_subcommand config; and not __fish_seen_subcommand_from get set unset diff" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand config; and not __fish_seen_subcommand_from get set unset diff" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand config; and not __fish_seen_subcommand_from get set unset diff" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand config; and not __fish_seen_subcommand_from get set unset diff" -f -a "get" -d 'Print one key\'s value'
complete -c dozen -n "__fish_dozen_using_subcommand config; and not __fish_seen_subcommand_from get set unset diff" -f -a "set" -d 'Set keys in the environment\'s own env file, keeping its comments and order'
complete -c dozen -n "__fish_dozen_using_subcommand config; and not __fish_seen_subcommand_from get set unset diff" -f -a "unset" -d 'Remove keys from the environment\'s own env file'
complete -c dozen -n "__fish_dozen_using_subcommand config; and not __fish_seen_subcommand_from get set unset diff" -f -a "diff" -d 'Compare two environments: keys only in one, keys whose values differ (by digest)'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from get" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from get" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from get" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from get" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from get" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from get" -l json -d 'Print as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from get" -l reveal -d 'Show values instead of redacting them'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from get" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from get" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from set" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from set" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from set" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from set" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from set" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from set" -l json -d 'Print as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from set" -l reveal -d 'Show values instead of redacting them'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from set" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from unset" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from unset" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from unset" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from unset" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from unset" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from unset" -l json -d 'Print as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from unset" -l reveal -d 'Show values instead of redacting them'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from unset" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from unset" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from unset" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from diff" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from diff" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from diff" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from diff" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from diff" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from diff" -l exit-code -d 'Exit with 1 when the environments differ'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from diff" -l json -d 'Print as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from diff" -l reveal -d 'Show values instead of redacting them'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from diff" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from diff" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand config; and __fish_seen_subcommand_from diff" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l format -d 'How to print the report' -r -f -a "text\t''
json\t''
sarif\t''
junit\t''
github\t''"
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l fail-on -d 'The least severe finding that makes the exit status 1' -r -f -a "error\t''
warning\t''
note\t''
never\t'Always exit 0 (usage errors still exit 2)'"
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l baseline -d 'Leave out the findings this baseline file accepts' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l write-baseline -d 'Write the current findings to FILE as a baseline (rule, path, evidence hash; no line numbers), then exit 0' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l boot-timeout -d 'With the probe: how long a web type has to accept connections on $PORT' -r
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l grace -d 'With the probe: how long a type has to exit after SIGTERM' -r
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l max-file-size -d 'Files larger than this are not read (bytes; K, M and G suffixes allowed)' -r
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l json -d 'Shorthand for --format json'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l model -d 'Print the deployment model the rules reason from instead of auditing: the processes production runs and what declares them, the config files it reads, each file\'s role (every file with -v; --json for all of it)'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l strict -d 'Every finding at its rule\'s most severe (`dozen audit rules --json`: `ceiling`), not at the severity the rule\'s measured first-sight precision has earned: for teams that gate on every rule and triage what it finds'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l probe -d 'Also run each process type of a copy of the app, one at a time, and check what it does: binds $PORT, stops on SIGTERM, stays in the foreground, writes no files (docs/probe.md)'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l probe-only -d 'Only the probe, without the static checks'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l release -d 'With the probe: run the current release (its build tree, Procfile and config snapshot) instead of the working tree'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -l probe-config-strip -d 'With the probe: start each type once per config key with the key removed; it must exit non-zero within 10 s instead of running misconfigured'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -a "rules" -d 'List every rule: id, factor, default severity, what it finds'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and not __fish_seen_subcommand_from rules explain" -a "explain" -d 'Explain a rule: its factor, why it matters, how to fix it'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from rules" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from rules" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from rules" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from rules" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from rules" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from rules" -l json -d 'Print the rules as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from rules" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from rules" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from rules" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from explain" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from explain" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from explain" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from explain" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from explain" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from explain" -l json -d 'Print the rule as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from explain" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from explain" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand audit; and __fish_seen_subcommand_from explain" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand build; and not __fish_seen_subcommand_from verify" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand build; and not __fish_seen_subcommand_from verify" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand build; and not __fish_seen_subcommand_from verify" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand build; and not __fish_seen_subcommand_from verify" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand build; and not __fish_seen_subcommand_from verify" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand build; and not __fish_seen_subcommand_from verify" -l require-clean -d 'Refuse to build a git work tree with uncommitted changes'
complete -c dozen -n "__fish_dozen_using_subcommand build; and not __fish_seen_subcommand_from verify" -l json -d 'Print the build record as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand build; and not __fish_seen_subcommand_from verify" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand build; and not __fish_seen_subcommand_from verify" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand build; and not __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand build; and not __fish_seen_subcommand_from verify" -f -a "verify" -d 'Re-hash a stored build and report every file changed since it was stored'
complete -c dozen -n "__fish_dozen_using_subcommand build; and __fish_seen_subcommand_from verify" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand build; and __fish_seen_subcommand_from verify" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand build; and __fish_seen_subcommand_from verify" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand build; and __fish_seen_subcommand_from verify" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand build; and __fish_seen_subcommand_from verify" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand build; and __fish_seen_subcommand_from verify" -l json -d 'Print the build record as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand build; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand build; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand build; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand release" -l build -d 'Release this stored build (an id or a unique prefix) instead of building' -r
complete -c dozen -n "__fish_dozen_using_subcommand release" -s m -l message -d 'A note recorded with the release' -r
complete -c dozen -n "__fish_dozen_using_subcommand release" -l strategy -d 'How a running formation moves onto the release: `rolling`, instance by instance; `blue-green`, a whole new side of the routed type switched to at once when ready; or `canary`, a few new instances given a growing share while the router compares them with the rest (both need the router) [default: `[deploy] strategy`, else rolling]' -r -f -a "rolling\t'Instance by instance, each old one drained before it stops'
blue-green\t'A whole second side of the routed type, switched to at once when all of it is ready'
canary\t'A few instances of the new release get a growing share, compared with the stable side at each step; promoted when every step passes, aborted at a breach'"
complete -c dozen -n "__fish_dozen_using_subcommand release" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand release" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand release" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand release" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand release" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand release" -l json -d 'Print the release as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand release" -l no-wait -d 'Do not wait for a running formation to move onto the release (by default `dozen release` waits, and exits 1 and aborts the release when the move fails)'
complete -c dozen -n "__fish_dozen_using_subcommand release" -l wait -d 'Wait for a running formation\'s move, deploy or canary to end, promoted or aborted (the default; as `dozen restart --wait` and `dozen scale --wait` say it)'
complete -c dozen -n "__fish_dozen_using_subcommand release" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand release" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand release" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dozen -n "__fish_dozen_using_subcommand rollback" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand rollback" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand rollback" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand rollback" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand rollback" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand rollback" -l json -d 'Print the new release as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand rollback" -l no-wait -d 'Do not wait for a running formation to move onto the new release'
complete -c dozen -n "__fish_dozen_using_subcommand rollback" -l wait -d 'Wait for a running formation to move onto the new release (the default, as for `dozen release --wait`)'
complete -c dozen -n "__fish_dozen_using_subcommand rollback" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand rollback" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand rollback" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand releases; and not __fish_seen_subcommand_from show" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand releases; and not __fish_seen_subcommand_from show" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand releases; and not __fish_seen_subcommand_from show" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand releases; and not __fish_seen_subcommand_from show" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand releases; and not __fish_seen_subcommand_from show" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand releases; and not __fish_seen_subcommand_from show" -l json -d 'Print as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand releases; and not __fish_seen_subcommand_from show" -l reveal -d 'Show config values instead of digests'
complete -c dozen -n "__fish_dozen_using_subcommand releases; and not __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand releases; and not __fish_seen_subcommand_from show" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand releases; and not __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand releases; and not __fish_seen_subcommand_from show" -f -a "show" -d 'One release: its config keys with value digests and the diff against the previous one'
complete -c dozen -n "__fish_dozen_using_subcommand releases; and __fish_seen_subcommand_from show" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand releases; and __fish_seen_subcommand_from show" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand releases; and __fish_seen_subcommand_from show" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand releases; and __fish_seen_subcommand_from show" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand releases; and __fish_seen_subcommand_from show" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand releases; and __fish_seen_subcommand_from show" -l json -d 'Print as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand releases; and __fish_seen_subcommand_from show" -l reveal -d 'Show config values instead of digests'
complete -c dozen -n "__fish_dozen_using_subcommand releases; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand releases; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand releases; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand gc" -l keep -d 'How many of the latest succeeded releases keep their builds' -r
complete -c dozen -n "__fish_dozen_using_subcommand gc" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand gc" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand gc" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand gc" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand gc" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand gc" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand gc" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand gc" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand history" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand history" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand history" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand history" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand history" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand history" -l json -d 'Print as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand history" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand history" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand history" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand exec" -l release -d 'Run in this release instead of the current one' -r
complete -c dozen -n "__fish_dozen_using_subcommand exec" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand exec" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand exec" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand exec" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand exec" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand exec" -l dev -d 'Run in the working tree with the env files applied, not in a release'
complete -c dozen -n "__fish_dozen_using_subcommand exec" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand exec" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand exec" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand run" -l release -d 'Run this release instead of the current one' -r
complete -c dozen -n "__fish_dozen_using_subcommand run" -s m -l formation -d 'Instances per type, as foreman takes it: web=2,worker=1 (all=N for the rest)' -r
complete -c dozen -n "__fish_dozen_using_subcommand run" -s p -l port -d 'Base port, 1–65535 [default: PORT from the env files, else the environment\'s, else 5000]' -r
complete -c dozen -n "__fish_dozen_using_subcommand run" -s t -l timeout -d 'Time each process gets to stop before SIGKILL (seconds, or 500ms, 10s) [default: 5s]' -r
complete -c dozen -n "__fish_dozen_using_subcommand run" -l log-format -d '`text` (`HH:MM:SS web.1 | line`) or `json` (one object per line)' -r -f -a "text\t''
json\t''"
complete -c dozen -n "__fish_dozen_using_subcommand run" -l router -d 'Put dozen\'s HTTP router in front of `web`, on ADDR (a port, or HOST:PORT) [default: 127.0.0.1 and the base port]; instances then take ports from the base port + 1. Process types go before it: `dozen run web --router`' -r
complete -c dozen -n "__fish_dozen_using_subcommand run" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand run" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand run" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand run" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand run" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand run" -l dev -d 'Run the working tree with the env files applied, not a release'
complete -c dozen -n "__fish_dozen_using_subcommand run" -l no-timestamps -d 'Leave the time out of each line'
complete -c dozen -n "__fish_dozen_using_subcommand run" -l no-router -d 'No router, even when dozen.toml\'s `[router] enabled` asks for one'
complete -c dozen -n "__fish_dozen_using_subcommand run" -l tls -d 'Serve HTTPS (and HTTP/2) at the router with a certificate for localhost from your own development CA, made once under ~/.local/share/dozen/ca; starts the router if off'
complete -c dozen -n "__fish_dozen_using_subcommand run" -l watch -d 'Restart the types whose files change (rolling behind the router); bursts debounced, .gitignore, .dozenignore and editors\' swap files ignored. With --dev only'
complete -c dozen -n "__fish_dozen_using_subcommand run" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand run" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand run" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand start" -l release -d 'Run this release instead of the current one' -r
complete -c dozen -n "__fish_dozen_using_subcommand start" -s m -l formation -d 'Instances per type, as foreman takes it: web=2,worker=1 (all=N for the rest)' -r
complete -c dozen -n "__fish_dozen_using_subcommand start" -s p -l port -d 'Base port, 1–65535 [default: PORT from the env files, else the environment\'s, else 5000]' -r
complete -c dozen -n "__fish_dozen_using_subcommand start" -s t -l timeout -d 'Time each process gets to stop before SIGKILL (seconds, or 500ms, 10s) [default: 5s]' -r
complete -c dozen -n "__fish_dozen_using_subcommand start" -l log-format -d '`text` (`HH:MM:SS web.1 | line`) or `json` (one object per line)' -r -f -a "text\t''
json\t''"
complete -c dozen -n "__fish_dozen_using_subcommand start" -l router -d 'Put dozen\'s HTTP router in front of `web`, on ADDR (a port, or HOST:PORT) [default: 127.0.0.1 and the base port]; instances then take ports from the base port + 1. Process types go before it: `dozen run web --router`' -r
complete -c dozen -n "__fish_dozen_using_subcommand start" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand start" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand start" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand start" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand start" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand start" -l dev -d 'Run the working tree with the env files applied, not a release'
complete -c dozen -n "__fish_dozen_using_subcommand start" -l no-timestamps -d 'Leave the time out of each line'
complete -c dozen -n "__fish_dozen_using_subcommand start" -l no-router -d 'No router, even when dozen.toml\'s `[router] enabled` asks for one'
complete -c dozen -n "__fish_dozen_using_subcommand start" -l tls -d 'Serve HTTPS (and HTTP/2) at the router with a certificate for localhost from your own development CA, made once under ~/.local/share/dozen/ca; starts the router if off'
complete -c dozen -n "__fish_dozen_using_subcommand start" -l watch -d 'Restart the types whose files change (rolling behind the router); bursts debounced, .gitignore, .dozenignore and editors\' swap files ignored. With --dev only'
complete -c dozen -n "__fish_dozen_using_subcommand start" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand start" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand start" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand scale" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand scale" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand scale" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand scale" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand scale" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand scale" -l json -d 'Print the resulting formation as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand scale" -l wait -d 'Wait until every instance of the new formation is up (ready, or started when it has no check) and the removed ones have stopped; exit 1 if one crashes'
complete -c dozen -n "__fish_dozen_using_subcommand scale" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand scale" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand scale" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand ps" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand ps" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand ps" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand ps" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand ps" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand ps" -l json -d 'Print the formation and instances as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand ps" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand ps" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand ps" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand top" -l interval -d 'Seconds between two frames (0.1 to 60)' -r
complete -c dozen -n "__fish_dozen_using_subcommand top" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand top" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand top" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand top" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand top" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand top" -l once -d 'Print one screen and exit (after one interval, so that rates are measured)'
complete -c dozen -n "__fish_dozen_using_subcommand top" -l json -d 'Print JSON: once with --once, else an object every interval'
complete -c dozen -n "__fish_dozen_using_subcommand top" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand top" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand top" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand canary" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand canary" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand canary" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand canary" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand canary" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand canary" -l json -d 'Print the comparison as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand canary" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand canary" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand canary" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dozen -n "__fish_dozen_using_subcommand logs" -s n -l num -d 'How many of the last buffered lines to print' -r
complete -c dozen -n "__fish_dozen_using_subcommand logs" -s p -l ps -l dyno -d 'Only the lines of a type (web) or of an instance (web.1)' -r
complete -c dozen -n "__fish_dozen_using_subcommand logs" -s s -l source -d 'Only the app\'s lines, the router\'s, or dozen\'s own' -r -f -a "app\t''
router\t''
dozen\t''"
complete -c dozen -n "__fish_dozen_using_subcommand logs" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand logs" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand logs" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand logs" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand logs" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand logs" -s t -l tail -l follow -d 'Keep printing new lines until interrupted or the run ends (also -f, as tail -f)'
complete -c dozen -n "__fish_dozen_using_subcommand logs" -l json -d 'One JSON object per line (`ts`, `process`, `stream`, `line`), as --log-format json'
complete -c dozen -n "__fish_dozen_using_subcommand logs" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand logs" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand logs" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and not __fish_seen_subcommand_from list add remove" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand drains; and not __fish_seen_subcommand_from list add remove" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand drains; and not __fish_seen_subcommand_from list add remove" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand drains; and not __fish_seen_subcommand_from list add remove" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand drains; and not __fish_seen_subcommand_from list add remove" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand drains; and not __fish_seen_subcommand_from list add remove" -l json -d 'Print the drains as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and not __fish_seen_subcommand_from list add remove" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and not __fish_seen_subcommand_from list add remove" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and not __fish_seen_subcommand_from list add remove" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and not __fish_seen_subcommand_from list add remove" -f -a "list" -d 'The drains: stored ones and dozen.toml\'s, redacted, with their ids (the default)'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and not __fish_seen_subcommand_from list add remove" -f -a "add" -d 'Add a drain (`-` reads the URL from stdin, out of the shell\'s history)'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and not __fish_seen_subcommand_from list add remove" -f -a "remove" -d 'Remove a stored drain by its id (or a prefix of it) or its URL'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from list" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from list" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from list" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from list" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from list" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from list" -l json -d 'Print the drains as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from add" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from add" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from add" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from add" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from add" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from add" -l json -d 'Print the drains as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from remove" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from remove" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from remove" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from remove" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from remove" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from remove" -l json -d 'Print the drains as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand drains; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and not __fish_seen_subcommand_from list get set rollout enable disable" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and not __fish_seen_subcommand_from list get set rollout enable disable" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand flags; and not __fish_seen_subcommand_from list get set rollout enable disable" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and not __fish_seen_subcommand_from list get set rollout enable disable" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and not __fish_seen_subcommand_from list get set rollout enable disable" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand flags; and not __fish_seen_subcommand_from list get set rollout enable disable" -l json -d 'Print JSON'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and not __fish_seen_subcommand_from list get set rollout enable disable" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and not __fish_seen_subcommand_from list get set rollout enable disable" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and not __fish_seen_subcommand_from list get set rollout enable disable" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and not __fish_seen_subcommand_from list get set rollout enable disable" -f -a "list" -d 'Every flag: its state, type and what it serves (the default)'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and not __fish_seen_subcommand_from list get set rollout enable disable" -f -a "get" -d 'One flag\'s definition; with --targeting-key or --context, what it gives that context'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and not __fish_seen_subcommand_from list get set rollout enable disable" -f -a "set" -d 'Serve VARIANT to everyone: it becomes the default, any targeting goes, the flag is enabled'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and not __fish_seen_subcommand_from list get set rollout enable disable" -f -a "rollout" -d 'Serve VARIANT to PERCENT of targeting keys (the same ones every time), the default to the rest'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and not __fish_seen_subcommand_from list get set rollout enable disable" -f -a "enable" -d 'Serve the flag again (its default and targeting as they are)'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and not __fish_seen_subcommand_from list get set rollout enable disable" -f -a "disable" -d 'Turn the flag off: every caller gets its own default value'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from list" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from list" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from list" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from list" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from list" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from get" -l targeting-key -d 'Evaluate the flag for this targeting key' -r
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from get" -l context -d 'Evaluate the flag for this evaluation context (a JSON object)' -r
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from get" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from get" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from get" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from get" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from get" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from get" -l json -d 'Print JSON'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from get" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from get" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from set" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from set" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from set" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from set" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from set" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from set" -l json -d 'Print JSON'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from set" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from rollout" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from rollout" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from rollout" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from rollout" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from rollout" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from rollout" -l replace -d 'Replace a targeting rule of the flag\'s own (the history keeps it)'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from rollout" -l json -d 'Print JSON'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from rollout" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from rollout" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from rollout" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from enable" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from enable" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from enable" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from enable" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from enable" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from enable" -l json -d 'Print JSON'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from enable" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from enable" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from disable" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from disable" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from disable" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from disable" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from disable" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from disable" -l json -d 'Print JSON'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from disable" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from disable" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand flags; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand restart" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand restart" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand restart" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand restart" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand restart" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand restart" -l wait -d 'Wait for the result (the restart done, the instances stopped); exit 1 if it failed'
complete -c dozen -n "__fish_dozen_using_subcommand restart" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand restart" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand restart" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand stop" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand stop" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand stop" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand stop" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand stop" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand stop" -l wait -d 'Wait for the result (the restart done, the instances stopped); exit 1 if it failed'
complete -c dozen -n "__fish_dozen_using_subcommand stop" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand stop" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand stop" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose" -f -a "systemd" -d 'systemd units: a target, a template unit per process type (instances named by port), the release phase as a oneshot unit, and an env file with the config (mode 0600)'
complete -c dozen -n "__fish_dozen_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose" -f -a "kubernetes" -d 'Kubernetes manifests: a Deployment per process type, a Secret with the config, probes from the health checks, a Service for web, the release phase as a Job'
complete -c dozen -n "__fish_dozen_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose" -f -a "compose" -d 'A Compose file: a service per process type with deploy.replicas, an env file with the config, health checks, stop signals and grace periods, the release phase first'
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from systemd" -l out -d 'The directory to write into (created if missing)' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from systemd" -l release -d 'The release to export [default: the current one]' -r
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from systemd" -l user -d 'The user the processes run as (`User=`)' -r
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from systemd" -l install-dir -d 'Where the files will be installed: the units read their env file from there' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from systemd" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from systemd" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from systemd" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from systemd" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from systemd" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from systemd" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from systemd" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from systemd" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l out -d 'The directory to write into (created if missing)' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l image -d 'The container image that holds the app\'s build [default: APP:RELEASE]' -r
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l release -d 'The release to export [default: the current one]' -r
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from compose" -l out -d 'The directory to write into (created if missing)' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from compose" -l image -d 'The container image that holds the app\'s build [default: APP:RELEASE]' -r
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from compose" -l release -d 'The release to export [default: the current one]' -r
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from compose" -l host-port -d 'The host port web\'s first instance is published on; the others take the next ones [default: web\'s port by dozen\'s rule: PORT, else 5000]' -r
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from compose" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from compose" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from compose" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from compose" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from compose" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from compose" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from compose" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand export; and __fish_seen_subcommand_from compose" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand image" -l release -d 'This release instead of the current one' -r
complete -c dozen -n "__fish_dozen_using_subcommand image" -l base -d 'The base image, over [image] base: REF, oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE' -r
complete -c dozen -n "__fish_dozen_using_subcommand image" -l platform -d 'The platform of a multi-platform base' -r
complete -c dozen -n "__fish_dozen_using_subcommand image" -l out -d 'Write an OCI image layout to this directory' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand image" -l archive -d 'Write an oci-archive tarball' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand image" -l push -d 'Push to this reference (REGISTRY/REPOSITORY[:TAG]; the tag defaults to the release)' -r
complete -c dozen -n "__fish_dozen_using_subcommand image" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand image" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand image" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand image" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand image" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand image" -l json -d 'Print what was made as JSON'
complete -c dozen -n "__fish_dozen_using_subcommand image" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand image" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand image" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand init" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand init" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand init" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand init" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand init" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand init" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand init" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand init" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand __generate" -l out -d 'Directory to write `completions/` and `man/` into' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand __generate" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand __generate" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand __generate" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand __generate" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand __generate" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand __generate" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand __generate" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand __generate" -s h -l help -d 'Print help'
complete -c dozen -n "__fish_dozen_using_subcommand __guard" -l app -d 'The app\'s directory [default: the Procfile\'s directory with -f, else the current one]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand __guard" -l env -d 'The environment whose env files apply [default: development]' -r
complete -c dozen -n "__fish_dozen_using_subcommand __guard" -s f -l procfile -d 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand __guard" -s e -l env-file -d 'Env files to use instead of the environment\'s, comma-separated, as in foreman and honcho' -r -F
complete -c dozen -n "__fish_dozen_using_subcommand __guard" -l color -d 'When to use colours (`NO_COLOR` turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c dozen -n "__fish_dozen_using_subcommand __guard" -s q -l quiet -d 'Print only errors'
complete -c dozen -n "__fish_dozen_using_subcommand __guard" -s v -l verbose -d 'Print more detail'
complete -c dozen -n "__fish_dozen_using_subcommand __guard" -s h -l help -d 'Print help'

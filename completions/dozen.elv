
use builtin;
use str;

set edit:completion:arg-completer[dozen] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'dozen'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'dozen'= {
            cand --app 'The app''s directory [default: the Procfile''s directory with -f, else the current one]'
            cand --env 'The environment whose env files apply [default: development]'
            cand -f 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand --procfile 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand -e 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --env-file 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --color 'When to use colours (`NO_COLOR` turns `auto` off)'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail'
            cand --verbose 'Print more detail'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check 'Validate the Procfile, env files and dozen.toml, and show what they define'
            cand config 'Show and edit the config of an environment (values redacted unless --reveal)'
            cand exec 'Run a one-off admin command with the app''s config (--dev: in the working tree)'
            cand init 'Write a starting dozen.toml and Procfile for the app in this directory'
            cand __generate 'Write shell completions and man pages (for packagers and dozen''s own tests)'
        }
        &'dozen;check'= {
            cand --app 'The app''s directory [default: the Procfile''s directory with -f, else the current one]'
            cand --env 'The environment whose env files apply [default: development]'
            cand -f 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand --procfile 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand -e 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --env-file 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --color 'When to use colours (`NO_COLOR` turns `auto` off)'
            cand --json 'Print the result as JSON'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail'
            cand --verbose 'Print more detail'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'dozen;config'= {
            cand --app 'The app''s directory [default: the Procfile''s directory with -f, else the current one]'
            cand --env 'The environment whose env files apply [default: development]'
            cand -f 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand --procfile 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand -e 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --env-file 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --color 'When to use colours (`NO_COLOR` turns `auto` off)'
            cand --json 'Print as JSON'
            cand --reveal 'Show values instead of redacting them'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail'
            cand --verbose 'Print more detail'
            cand -h 'Print help'
            cand --help 'Print help'
            cand get 'Print one key''s value'
            cand set 'Set keys in the environment''s own env file, keeping its comments and order'
            cand unset 'Remove keys from the environment''s own env file'
            cand diff 'Compare two environments: keys only in one, keys whose values differ (by digest)'
        }
        &'dozen;config;get'= {
            cand --app 'The app''s directory [default: the Procfile''s directory with -f, else the current one]'
            cand --env 'The environment whose env files apply [default: development]'
            cand -f 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand --procfile 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand -e 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --env-file 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --color 'When to use colours (`NO_COLOR` turns `auto` off)'
            cand --json 'Print as JSON'
            cand --reveal 'Show values instead of redacting them'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail'
            cand --verbose 'Print more detail'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'dozen;config;set'= {
            cand --app 'The app''s directory [default: the Procfile''s directory with -f, else the current one]'
            cand --env 'The environment whose env files apply [default: development]'
            cand -f 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand --procfile 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand -e 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --env-file 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --color 'When to use colours (`NO_COLOR` turns `auto` off)'
            cand --json 'Print as JSON'
            cand --reveal 'Show values instead of redacting them'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail'
            cand --verbose 'Print more detail'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'dozen;config;unset'= {
            cand --app 'The app''s directory [default: the Procfile''s directory with -f, else the current one]'
            cand --env 'The environment whose env files apply [default: development]'
            cand -f 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand --procfile 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand -e 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --env-file 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --color 'When to use colours (`NO_COLOR` turns `auto` off)'
            cand --json 'Print as JSON'
            cand --reveal 'Show values instead of redacting them'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail'
            cand --verbose 'Print more detail'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'dozen;config;diff'= {
            cand --app 'The app''s directory [default: the Procfile''s directory with -f, else the current one]'
            cand --env 'The environment whose env files apply [default: development]'
            cand -f 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand --procfile 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand -e 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --env-file 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --color 'When to use colours (`NO_COLOR` turns `auto` off)'
            cand --exit-code 'Exit with 1 when the environments differ'
            cand --json 'Print as JSON'
            cand --reveal 'Show values instead of redacting them'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail'
            cand --verbose 'Print more detail'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'dozen;exec'= {
            cand --app 'The app''s directory [default: the Procfile''s directory with -f, else the current one]'
            cand --env 'The environment whose env files apply [default: development]'
            cand -f 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand --procfile 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand -e 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --env-file 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --color 'When to use colours (`NO_COLOR` turns `auto` off)'
            cand --dev 'Run in the working tree with the env files applied (required until releases exist)'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail'
            cand --verbose 'Print more detail'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'dozen;init'= {
            cand --app 'The app''s directory [default: the Procfile''s directory with -f, else the current one]'
            cand --env 'The environment whose env files apply [default: development]'
            cand -f 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand --procfile 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand -e 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --env-file 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --color 'When to use colours (`NO_COLOR` turns `auto` off)'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail'
            cand --verbose 'Print more detail'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'dozen;__generate'= {
            cand --out 'Directory to write `completions/` and `man/` into'
            cand --app 'The app''s directory [default: the Procfile''s directory with -f, else the current one]'
            cand --env 'The environment whose env files apply [default: development]'
            cand -f 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand --procfile 'The Procfile to read, as in foreman and honcho [default: APP/Procfile]'
            cand -e 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --env-file 'Env files to use instead of the environment''s, comma-separated, as in foreman and honcho'
            cand --color 'When to use colours (`NO_COLOR` turns `auto` off)'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail'
            cand --verbose 'Print more detail'
            cand -h 'Print help'
            cand --help 'Print help'
        }
    ]
    $completions[$command]
}

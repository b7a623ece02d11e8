use guard_runtime::action;

#[action(POST "/login", public = "login form: checks the password itself", requires = "sessions:create")]
async fn login() -> &'static str {
    "welcome"
}

fn main() {}
